import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { PluginContext } from 'create-foundation-module/contract';
import { {{many.camel}} } from '../shared/schema.ts';
import { parseInput } from './validation.ts';

/** Permissions of {{many.lower}}: listed in plugin/index.ts, checked on each route below. */
export const {{many.camel}}Permissions = [
  '{{permissionPrefix}}.read',
  '{{permissionPrefix}}.create',
  '{{permissionPrefix}}.update',
  '{{permissionPrefix}}.delete',
];

/** What a client may send; anything else is refused with 400 naming the field. */
const {{one.camel}}Input = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(2000, 'must be at most 2000 characters').nullable().optional(),
}).strict();

const uuid = z.uuid('must be a uuid');

/** `/{{many.kebab}}`: list, read, create, update and delete the tenant's {{many.lower}}. */
export function register{{many.pascal}}Routes(ctx: PluginContext): void {
  const r = ctx.router;
  const idOf = (value: unknown) => parseInput(ctx, uuid, value, '{{idParam}}');
  const notFound = (id: string) => ctx.httpError(404, '{{one.constant}}_NOT_FOUND', `No {{one.lower}} with id ${id} in this tenant.`);

  r.get('/{{many.kebab}}', ctx.rbac.require('{{permissionPrefix}}.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const listed = await ctx.withTenantTx(tenantId, (db) =>
      db.select().from({{many.camel}}).orderBy(desc({{many.camel}}.createdAt), desc({{many.camel}}.id)));
    res.json({ data: listed });
  });

  r.get('/{{many.kebab}}/:{{idParam}}', ctx.rbac.require('{{permissionPrefix}}.read'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['{{idParam}}']);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.select().from({{many.camel}}).where(eq({{many.camel}}.id, id)));
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.post('/{{many.kebab}}', ctx.rbac.require('{{permissionPrefix}}.create'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const input = parseInput(ctx, {{one.camel}}Input, req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) => db.insert({{many.camel}}).values(input).returning());
    ctx.log('{{one.lower}} created', { {{idParam}}: row!.id, tenantId });
    res.status(201).json({ data: row });
  });

  r.patch('/{{many.kebab}}/:{{idParam}}', ctx.rbac.require('{{permissionPrefix}}.update'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['{{idParam}}']);
    const input = parseInput(ctx, {{one.camel}}Input.partial(), req.body);
    const [row] = await ctx.withTenantTx(tenantId, (db) =>
      db.update({{many.camel}}).set({ ...input, updatedAt: new Date() }).where(eq({{many.camel}}.id, id)).returning());
    if (!row) throw notFound(id);
    res.json({ data: row });
  });

  r.delete('/{{many.kebab}}/:{{idParam}}', ctx.rbac.require('{{permissionPrefix}}.delete'), async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const id = idOf(req.params['{{idParam}}']);
    const deleted = await ctx.withTenantTx(tenantId, (db) =>
      db.delete({{many.camel}}).where(eq({{many.camel}}.id, id)).returning({ id: {{many.camel}}.id }));
    if (deleted.length === 0) throw notFound(id);
    res.status(204).end();
  });
}
