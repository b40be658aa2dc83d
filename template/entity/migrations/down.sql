-- Undoes {{migration}}.sql in one tenant schema.
DROP TABLE {{table}};
