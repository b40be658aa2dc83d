-- Items. Runs once in every tenant schema (search_path is set to it): no schema names,
-- no tenant_id. Keep shared/schema.ts in step; 001_init.down.sql undoes this.
CREATE TABLE items_items (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX items_items_created_at_idx ON items_items (created_at DESC);
