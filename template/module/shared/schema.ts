import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

// Tables of this module. They live in each tenant's schema (no schema name here, no tenant_id
// column): `withTenantTx` points `search_path` at the tenant. The SQL in migrations/tenant
// creates them; keep both in step. Names start with the module id so modules never collide.
