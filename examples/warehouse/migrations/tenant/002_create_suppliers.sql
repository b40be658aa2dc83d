-- Suppliers. Runs once in every tenant schema (search_path is set to it): no schema names,
-- no tenant_id. Keep shared/schema.ts in step; 002_create_suppliers.down.sql undoes this.
CREATE TABLE warehouse_suppliers (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX warehouse_suppliers_created_at_idx ON warehouse_suppliers (created_at DESC);
