import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { SYSTEM_TABLES } from '../sandbox/data/system-schema.ts';
import { createThrowawayDatabase, databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE, moduleVariant } from './helpers/examples.ts';

async function snapshot(t: TestSandbox): Promise<Record<string, unknown>> {
  const counts: Record<string, unknown> = {};
  for (const table of SYSTEM_TABLES) counts[table] = (await t.sql<{ n: string }>(`SELECT count(*)::int AS n FROM public.${table}`))[0]!.n;
  counts.schemas = (await t.sql<{ s: string }>(`SELECT schema_name AS s FROM information_schema.schemata WHERE schema_name LIKE 'tenant_%' ORDER BY 1`)).map((r) => r.s);
  counts.migrations = await t.sql('SELECT plugin_id, scope, tenant_id, name, checksum, applied_at FROM public.sys_plugin_migrations ORDER BY id');
  counts.plugins = await t.sql('SELECT plugin_id, version_installed, updated_at FROM public.sys_plugins ORDER BY 1');
  return counts;
}

describe.each(databaseServers())('bootstrap on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
  });
  afterAll(() => t?.close());

  it('creates the system tables, dev tenants, dev users and applies migrations once per tenant', async () => {
    const tables = (await t.sql<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).map((r) => r.table_name);
    expect(tables).toEqual(expect.arrayContaining([...SYSTEM_TABLES]));
    expect((await t.sql('SELECT code, schema_name FROM sys_tenant ORDER BY code'))).toEqual([
      { code: 'acme', schema_name: 'tenant_acme' }, { code: 'dev', schema_name: 'tenant_dev' }]);
    expect((await t.sql('SELECT email FROM sys_user ORDER BY email')).map((r) => r.email)).toEqual(['admin@sandbox.dev', 'user@sandbox.dev']);
    expect(t.sandbox.bootstrapReport.applied.sort()).toEqual(['items:tenant/001_init.sql@acme', 'items:tenant/001_init.sql@dev']);
    const checksum = (await t.sql<{ checksum: string }>(`SELECT DISTINCT checksum FROM sys_plugin_migrations`)).map((r) => r.checksum);
    expect(checksum).toHaveLength(1);
    expect(checksum[0]).toMatch(/^[0-9a-f]{64}$/);
    // The loaded plugins' permissions, and the host's own (admin.*: the admin API's).
    expect(await t.sql(`SELECT permission FROM sys_permission ORDER BY 1`)).toEqual(
      ['admin.audit.read', 'admin.config.write', 'admin.migrations.run', 'admin.plugins.kill', 'admin.plugins.read', 'admin.plugins.toggle', 'admin.roles.apply', 'items.items.create', 'items.items.delete', 'items.items.read', 'items.items.update'].map((permission) => ({ permission })));
  });

  it('changes nothing when it runs again, in the same process or in a second sandbox', async () => {
    const before = await snapshot(t);
    expect((await t.sandbox.rebootstrap()).applied).toEqual([]);
    const second = await createSandbox({ moduleDirs: [ITEMS_MODULE], databaseUrl: t.database.url, logger: createLogger({ level: 'silent' }) });
    try {
      expect(second.bootstrapReport.applied).toEqual([]);
    } finally {
      await second.close();
    }
    expect(await snapshot(t)).toEqual(before);
  });

  it('lets two sandboxes start on one empty database at once without duplicates', async () => {
    const db = await createThrowawayDatabase(server.url);
    const start = () => createSandbox({ moduleDirs: [ITEMS_MODULE], databaseUrl: db.url, logger: createLogger({ level: 'silent' }) });
    try {
      const [a, b] = await Promise.all([start(), start()]);
      expect([...a.bootstrapReport.applied, ...b.bootstrapReport.applied].sort()).toEqual(['items:tenant/001_init.sql@acme', 'items:tenant/001_init.sql@dev']);
      const { rows } = await a.database.pool.query('SELECT count(*)::int AS n FROM sys_plugin_migrations');
      expect(rows[0].n).toBe(2);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await db.drop();
    }
  });

  it('applies a new migration at the next start, and refuses one whose applied file changed and can\'t be undone', async () => {
    const dir = moduleVariant({});
    const logger = createLogger({ level: 'silent' });
    const db = await createThrowawayDatabase(server.url);
    try {
      await (await createSandbox({ moduleDirs: [dir], databaseUrl: db.url, logger })).close();
      fs.writeFileSync(path.join(dir, 'migrations/tenant/002_add_sku.sql'), 'ALTER TABLE items_items ADD COLUMN sku text;\n');
      const next = await createSandbox({ moduleDirs: [dir], databaseUrl: db.url, logger });
      expect(next.bootstrapReport.applied.sort()).toEqual(['items:tenant/002_add_sku.sql@acme', 'items:tenant/002_add_sku.sql@dev']);
      await next.close();

      fs.appendFileSync(path.join(dir, 'migrations/tenant/001_init.sql'), '\n-- edited after it ran\n');
      await expect(createSandbox({ moduleDirs: [dir], databaseUrl: db.url, logger }))
        .rejects.toThrow(/Migration tenant\/001_init\.sql of plugin "items" was changed after it ran in tenant (acme|dev).*It can't be undone and applied again: tenant\/002_add_sku\.sql has no 002_add_sku\.down\.sql\. Write one/s);
    } finally {
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls back a failing migration in a tenant and names it', async () => {
    const dir = moduleVariant({ 'migrations/tenant/002_broken.sql': 'ALTER TABLE items_items ADD COLUMN ok text;\nALTER TABLE nope ADD COLUMN x int;\n' });
    const db = await createThrowawayDatabase(server.url);
    try {
      await expect(createSandbox({ moduleDirs: [dir], databaseUrl: db.url, logger: createLogger({ level: 'silent' }) }))
        .rejects.toThrow(/Migration tenant\/002_broken\.sql of plugin "items" failed in tenant \w+ .*"nope"/);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      // 002's first statement ran before its second failed; the rollback took it back everywhere.
      const cols = await client.query(`SELECT table_schema FROM information_schema.columns WHERE table_name = 'items_items' AND column_name = 'ok'`);
      const recorded = await client.query(`SELECT name FROM sys_plugin_migrations WHERE name = '002_broken.sql'`);
      await client.end();
      expect(cols.rows).toEqual([]);
      expect(recorded.rows).toEqual([]);
    } finally {
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
