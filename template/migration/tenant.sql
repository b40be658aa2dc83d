-- {{migration}}: runs once in every tenant schema, in a transaction (search_path is set to the
-- tenant): no schema names, no tenant_id. Keep shared/schema.ts in step; the .down.sql undoes it.
{{{sql}}}