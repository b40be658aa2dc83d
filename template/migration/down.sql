-- Undoes {{migration}}.sql.
{{{downSql}}}