-- Runs once in every tenant schema (search_path is set to it): no schema names, no tenant_id.
CREATE TABLE items (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text,
  quantity    integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX items_created_at_idx ON items (created_at DESC);
