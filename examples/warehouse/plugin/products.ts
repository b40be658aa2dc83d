import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { PluginContext } from 'create-foundation-module/contract';
import { products } from '../shared/schema.ts';
import { parseInput } from './validation.ts';

/** Permissions of products: listed in plugin/index.ts, checked on each route below. */
export const productsPermissions = [
  'warehouse.products.read',
  'warehouse.products.create',
  'warehouse.products.update',
  'warehouse.products.delete',
];

/** What a client may send; anything else is refused with 400 naming the field. */
const productInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(2000, 'must be at most 2000 characters').nullable().optional(),
}).strict();

const uuid = z.uuid('must be a uuid');

/** `/products`: list, read, create, update and delete the tenant's products. */
export function registerProductsRoutes(ctx: PluginContext): void {
  const r = ctx.router;
  const idOf = (value: unknown) => parseInput(ctx, uuid, value, 'productId');
  const notFound = (id: string) => ctx.httpError(404, 'PRODUCT_NOT_FOUND', `No product with id ${id} in this tenant.`);

  r.get('/products', ctx.rbac.require('warehouse.products.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const listed = await ctx.withTenantTx(tenantId, (db) =>
      db.select().from(products).orderBy(desc(products.createdAt), desc(products.id)));
    res.json({ data: listed });
  });

  r.get('/products/:productId', ctx.rbac.require('warehouse.products.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['productId']);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.select().from(products).where(eq(products.id, id)));
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.post('/products', ctx.rbac.require('warehouse.products.create'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const input = parseInput(ctx, productInput, req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.insert(products).values(input).returning());
    ctx.log('product created', { productId: row!.id, tenantId });
    res.status(201).json({ data: row });
  });

  r.patch('/products/:productId', ctx.rbac.require('warehouse.products.update'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['productId']);
    const input = parseInput(ctx, productInput.partial(), req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) =>
      db.update(products).set({ ...input, updatedAt: new Date() }).where(eq(products.id, id)).returning());
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.delete('/products/:productId', ctx.rbac.require('warehouse.products.delete'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['productId']);
    const deleted = await ctx.withTenantTx(tenantId, (db) =>
      db.delete(products).where(eq(products.id, id)).returning({ id: products.id }));
    if (deleted.length === 0) throw notFound(id);
    res.status(204).end();
  });
}
