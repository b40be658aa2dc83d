import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { PluginContext } from 'create-foundation-module/contract';
import { items } from '../shared/schema.ts';
import { parseInput } from './validation.ts';

/** Permissions of items: listed in plugin/index.ts, checked on each route below. */
export const itemsPermissions = [
  'items.items.read',
  'items.items.create',
  'items.items.update',
  'items.items.delete',
];

/** What a client may send; anything else is refused with 400 naming the field. */
const itemInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(2000, 'must be at most 2000 characters').nullable().optional(),
}).strict();

const uuid = z.uuid('must be a uuid');

/** `/items`: list, read, create, update and delete the tenant's items. */
export function registerItemsRoutes(ctx: PluginContext): void {
  const r = ctx.router;
  const idOf = (value: unknown) => parseInput(ctx, uuid, value, 'itemId');
  const notFound = (id: string) => ctx.httpError(404, 'ITEM_NOT_FOUND', `No item with id ${id} in this tenant.`);

  r.get('/items', ctx.rbac.require('items.items.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const listed = await ctx.withTenantTx(tenantId, (db) =>
      db.select().from(items).orderBy(desc(items.createdAt), desc(items.id)));
    res.json({ data: listed });
  });

  r.get('/items/:itemId', ctx.rbac.require('items.items.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['itemId']);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.select().from(items).where(eq(items.id, id)));
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.post('/items', ctx.rbac.require('items.items.create'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const input = parseInput(ctx, itemInput, req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.insert(items).values(input).returning());
    ctx.log('item created', { itemId: row!.id, tenantId });
    res.status(201).json({ data: row });
  });

  r.patch('/items/:itemId', ctx.rbac.require('items.items.update'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['itemId']);
    const input = parseInput(ctx, itemInput.partial(), req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) =>
      db.update(items).set({ ...input, updatedAt: new Date() }).where(eq(items.id, id)).returning());
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.delete('/items/:itemId', ctx.rbac.require('items.items.delete'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['itemId']);
    const deleted = await ctx.withTenantTx(tenantId, (db) =>
      db.delete(items).where(eq(items.id, id)).returning({ id: items.id }));
    if (deleted.length === 0) throw notFound(id);
    res.status(204).end();
  });
}
