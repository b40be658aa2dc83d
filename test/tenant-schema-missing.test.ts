/**
 * Issue 15, defect 2: a tenant whose schema is missing must never fall through to `public`:
 * no migration runs for it, and its requests fail with an error naming tenant and schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../sandbox/errors.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';

describe.each(databaseServers())('a tenant without its schema on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let ghostId: string;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    const [row] = await t.sql<{ id: string }>(`INSERT INTO sys_tenant (code, name, schema_name) VALUES ('ghost', 'Ghost', 'tenant_ghost') RETURNING id::text AS id`);
    ghostId = row!.id;
    // Enabled for the plugin, as a tenant set up before its schema went missing would be.
    await t.sql(`INSERT INTO sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed) VALUES ($1, 'items', true, '0.1.0')`, [ghostId]);
    await t.grant(ADMIN, 'ghost', ['items.items.read', 'items.items.create']);
  });
  afterAll(() => t?.close());

  const publicItems = () => t.sql(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'items_items'`);

  it('is skipped by the bootstrap: nothing is created in public and nothing recorded for it', async () => {
    const report = await t.sandbox.rebootstrap();
    expect(report.skipped).toEqual([{ tenant: 'ghost', schema: 'tenant_ghost', reason: 'schema missing' }]);
    expect(report.applied).toEqual([]);
    expect(await publicItems()).toEqual([]);
    expect(await t.sql('SELECT name FROM sys_plugin_migrations WHERE tenant_id = $1', [ghostId])).toEqual([]);
  });

  it('answers 503 TENANT_SCHEMA_MISSING naming tenant and schema, and writes nothing to public', async () => {
    await t.sandbox.rebootstrap();
    for (const request of [t.as(ADMIN, 'ghost').post(ITEMS).send({ name: 'lost' }), t.as(ADMIN, 'ghost').get(ITEMS)]) {
      const res = await request.expect(503);
      expect(res.body.error).toMatchObject({ code: 'TENANT_SCHEMA_MISSING', schema: 'tenant_ghost', tenantId: ghostId });
      expect(res.body.error.message).toMatch(/Tenant "ghost".*schema "tenant_ghost" does not exist/);
    }
    expect(await publicItems()).toEqual([]);
  });

  it('refuses withTenantTx before running anything, even when public has a table of that name', async () => {
    // The worst case: public holds a table the tenant's SQL would resolve to.
    await t.sql('CREATE TABLE public.items_items (id uuid, name text)');
    try {
      const run = t.sandbox.tenancy.withTenantTx('ghost', (db) => db.execute(`INSERT INTO items_items (name) VALUES ('into public')`));
      await expect(run).rejects.toBeInstanceOf(DomainError);
      await expect(t.sandbox.tenancy.withTenantTx(ghostId, async () => 'ran')).rejects.toThrow(/schema "tenant_ghost" does not exist/);
      expect(await t.sql('SELECT name FROM public.items_items')).toEqual([]);
    } finally {
      await t.sql('DROP TABLE public.items_items');
    }
  });

  it('works again once the schema is restored', async () => {
    await t.sql('CREATE SCHEMA tenant_ghost');
    const report = await t.sandbox.rebootstrap();
    expect(report.skipped).toEqual([]);
    expect(report.applied).toEqual(['items:tenant/001_init.sql@ghost']);
    await t.as(ADMIN, 'ghost').post(ITEMS).send({ name: 'found' }).expect(201);
    expect(await t.sql('SELECT name FROM tenant_ghost.items_items')).toEqual([{ name: 'found' }]);
  });
});
