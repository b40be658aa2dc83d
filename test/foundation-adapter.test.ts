/**
 * The adapter every generated module ships, `foundation/routes/index.ts`, mounted the way a
 * foundation mounts it: its own Express app, its own identity step and error handler, and a
 * context built from its services (here the kit's factories stand in for them). No sandbox
 * routing is involved: if the adapter forgot a route or a permission, these requests would fail.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCronScheduler } from '../sandbox/plugins/cron.ts';
import { HttpError } from '../sandbox/errors.ts';
import { createEventBus } from '../sandbox/plugins/events.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createPluginContext } from '../sandbox/plugins/context.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

describe.each(databaseServers())('foundation/routes/index.ts mounted by a foundation on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let foundation: express.Express;

  beforeAll(async () => {
    // The sandbox here only prepares the database (tenants, users, migrations), as a foundation's own bootstrap would.
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    const logger = createLogger({ level: 'silent' });
    const { sandbox } = t;
    const { router: _unused, ...ctx } = createPluginContext(sandbox.plugins[0]!, {
      pool: sandbox.database.pool, tenancy: sandbox.tenancy, rbac: sandbox.rbac,
      events: createEventBus(logger), cron: createCronScheduler(logger), logger,
    });
    const adapter = await import('../examples/items/foundation/routes/index.ts');

    foundation = express();
    foundation.use(express.json());
    foundation.use(`/api/plugins/${adapter.plugin.meta.id}`, sandbox.identity.middleware, await adapter.default(ctx));
    foundation.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const status = error instanceof HttpError ? error.status : 500;
      res.status(status).json({ error: { code: error instanceof HttpError ? error.code : 'INTERNAL', ...(error instanceof HttpError ? error.details : {}) } });
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the module routes with its permissions, per tenant', async () => {
    const as = (user: string, tenant: string) => ({ 'X-User-Id': user, 'X-Tenant-Id': tenant });
    const api = supertest(foundation);
    const created = await api.post('/api/plugins/items/items').set(as('admin@sandbox.dev', 'dev')).send({ name: 'Via the adapter' }).expect(201);
    const listed = await api.get('/api/plugins/items/items').set(as('admin@sandbox.dev', 'dev')).expect(200);
    expect(listed.body.data.map((row: { id: string }) => row.id)).toContain(created.body.data.id);
    const elsewhere = await api.get('/api/plugins/items/items').set(as('admin@sandbox.dev', 'acme')).expect(200);
    expect(elsewhere.body.data.map((row: { id: string }) => row.id)).not.toContain(created.body.data.id);

    const refused = await api.get('/api/plugins/items/items').set(as('user@sandbox.dev', 'dev')).expect(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'items.items.read' });
  });

  it('exports exactly the permissions its routes require: granted that list, a user can do everything', async () => {
    const adapter = await import('../examples/items/foundation/routes/index.ts');
    const api = supertest(foundation);
    const user = { 'X-User-Id': 'user@sandbox.dev', 'X-Tenant-Id': 'acme' };
    const base = '/api/plugins/items/items';
    const some = '00000000-0000-4000-8000-000000000000';
    // A user holding nothing is refused by each route with the permission it needs.
    const refusals = await Promise.all([
      api.get(base).set(user), api.get(`${base}/${some}`).set(user), api.post(base).set(user).send({ name: 'x' }),
      api.patch(`${base}/${some}`).set(user).send({ name: 'y' }), api.delete(`${base}/${some}`).set(user),
    ]);
    const required = refusals.map((res) => (res.status === 403 ? res.body.error.permission : `answered ${res.status}`));
    expect(new Set(required)).toEqual(new Set(adapter.permissions));

    await t.grant('user@sandbox.dev', 'acme', adapter.permissions);
    const created = await api.post(base).set(user).send({ name: 'granted' }).expect(201);
    const id = created.body.data.id as string;
    await api.get(`${base}/${id}`).set(user).expect(200);
    await api.patch(`${base}/${id}`).set(user).send({ name: 'renamed' }).expect(200);
    await api.delete(`${base}/${id}`).set(user).expect(204);
  });
});
