-- Undoes 002_create_suppliers.sql in one tenant schema.
DROP TABLE warehouse_suppliers;
