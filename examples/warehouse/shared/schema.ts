import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

// Tables of this module. They live in each tenant's schema (no schema name here, no tenant_id
// column): `withTenantTx` points `search_path` at the tenant. The SQL in migrations/tenant
// creates them; keep both in step. Names start with the module id so modules never collide.

export const products = pgTable('warehouse_products', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Product = typeof products.$inferSelect;

export const suppliers = pgTable('warehouse_suppliers', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Supplier = typeof suppliers.$inferSelect;
