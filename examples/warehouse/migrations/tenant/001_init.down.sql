-- Undoes 001_init.sql in one tenant schema.
DROP TABLE warehouse_products;
