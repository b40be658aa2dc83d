import type { Request } from 'express';
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { FoundationPlugin, PluginContext } from 'create-foundation-module';
import { items } from '../shared/schema.ts';

/** Every permission this module checks: the one list module.config.ts and the host read. */
export const permissions = ['items.read', 'items.create', 'items.update', 'items.delete'];

const itemInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(2000, 'must be at most 2000 characters').nullable().optional(),
  quantity: z.number().int('must be a whole number').min(0, 'must not be negative').optional(),
}).strict();

const itemId = z.uuid('must be a uuid');

function parse<T>(ctx: PluginContext, schema: z.ZodType<T>, value: unknown, fieldPrefix = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = fieldPrefix + (issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : ''));
  throw ctx.httpError(400, 'VALIDATION_FAILED', `${field || 'body'}: ${issue.message}`, { field });
}

function idParam(ctx: PluginContext, req: Request): string {
  return parse(ctx, itemId, req.params.itemId, 'itemId');
}

const plugin: FoundationPlugin = {
  meta: { id: 'items', version: '1.0.0', api: '1.x' },

  async register(ctx) {
    const r = ctx.router;

    r.get('/items', ctx.rbac.require('items.read'), async (req, res) => {
      const { tenantId } = ctx.auth(req);
      const data = await ctx.withTenantTx(tenantId, (db) =>
        db.select().from(items).orderBy(desc(items.createdAt), desc(items.id)));
      res.json({ data });
    });

    r.get('/items/:itemId', ctx.rbac.require('items.read'), async (req, res) => {
      const { tenantId } = ctx.auth(req);
      const id = idParam(ctx, req);
      const [item] = await ctx.withTenantTx(tenantId, (db) => db.select().from(items).where(eq(items.id, id)));
      if (!item) throw ctx.httpError(404, 'ITEM_NOT_FOUND', `No item with id ${id} in this tenant.`);
      res.json({ data: item });
    });

    r.post('/items', ctx.rbac.require('items.create'), async (req, res) => {
      const { tenantId } = ctx.auth(req);
      const input = parse(ctx, itemInput, req.body);
      const [item] = await ctx.withTenantTx(tenantId, (db) => db.insert(items).values(input).returning());
      ctx.log('item created', { itemId: item!.id, tenantId });
      res.status(201).json({ data: item });
    });

    r.patch('/items/:itemId', ctx.rbac.require('items.update'), async (req, res) => {
      const { tenantId } = ctx.auth(req);
      const id = idParam(ctx, req);
      const input = parse(ctx, itemInput.partial(), req.body);
      const [item] = await ctx.withTenantTx(tenantId, (db) =>
        db.update(items).set({ ...input, updatedAt: new Date() }).where(eq(items.id, id)).returning());
      if (!item) throw ctx.httpError(404, 'ITEM_NOT_FOUND', `No item with id ${id} in this tenant.`);
      res.json({ data: item });
    });

    r.delete('/items/:itemId', ctx.rbac.require('items.delete'), async (req, res) => {
      const { tenantId } = ctx.auth(req);
      const id = idParam(ctx, req);
      const deleted = await ctx.withTenantTx(tenantId, (db) =>
        db.delete(items).where(eq(items.id, id)).returning({ id: items.id }));
      if (deleted.length === 0) throw ctx.httpError(404, 'ITEM_NOT_FOUND', `No item with id ${id} in this tenant.`);
      res.status(204).end();
    });
  },
};

export default plugin;
