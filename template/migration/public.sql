-- {{migration}}: runs once per database, in the public schema, in a transaction. Public holds
-- what every tenant shares; per-tenant data belongs in migrations/tenant. The .down.sql undoes it.
{{{sql}}}