import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { PluginContext } from 'create-foundation-module/contract';
import { suppliers } from '../shared/schema.ts';
import { parseInput } from './validation.ts';

/** Permissions of suppliers: listed in plugin/index.ts, checked on each route below. */
export const suppliersPermissions = [
  'warehouse.suppliers.read',
  'warehouse.suppliers.create',
  'warehouse.suppliers.update',
  'warehouse.suppliers.delete',
];

/** What a client may send; anything else is refused with 400 naming the field. */
const supplierInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(2000, 'must be at most 2000 characters').nullable().optional(),
}).strict();

const uuid = z.uuid('must be a uuid');

/** `/suppliers`: list, read, create, update and delete the tenant's suppliers. */
export function registerSuppliersRoutes(ctx: PluginContext): void {
  const r = ctx.router;
  const idOf = (value: unknown) => parseInput(ctx, uuid, value, 'supplierId');
  const notFound = (id: string) => ctx.httpError(404, 'SUPPLIER_NOT_FOUND', `No supplier with id ${id} in this tenant.`);

  r.get('/suppliers', ctx.rbac.require('warehouse.suppliers.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const listed = await ctx.withTenantTx(tenantId, (db) =>
      db.select().from(suppliers).orderBy(desc(suppliers.createdAt), desc(suppliers.id)));
    res.json({ data: listed });
  });

  r.get('/suppliers/:supplierId', ctx.rbac.require('warehouse.suppliers.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['supplierId']);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.select().from(suppliers).where(eq(suppliers.id, id)));
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.post('/suppliers', ctx.rbac.require('warehouse.suppliers.create'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const input = parseInput(ctx, supplierInput, req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.insert(suppliers).values(input).returning());
    ctx.log('supplier created', { supplierId: row!.id, tenantId });
    res.status(201).json({ data: row });
  });

  r.patch('/suppliers/:supplierId', ctx.rbac.require('warehouse.suppliers.update'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['supplierId']);
    const input = parseInput(ctx, supplierInput.partial(), req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) =>
      db.update(suppliers).set({ ...input, updatedAt: new Date() }).where(eq(suppliers.id, id)).returning());
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.delete('/suppliers/:supplierId', ctx.rbac.require('warehouse.suppliers.delete'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['supplierId']);
    const deleted = await ctx.withTenantTx(tenantId, (db) =>
      db.delete(suppliers).where(eq(suppliers.id, id)).returning({ id: suppliers.id }));
    if (deleted.length === 0) throw notFound(id);
    res.status(204).end();
  });
}
