import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSchemaTransaction } from '../sandbox/data/tenancy.ts';
import { assertSchemaName } from '../sandbox/data/sql-identifiers.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';

describe.each(databaseServers())('tenant isolation on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
  });
  afterAll(() => t?.close());

  it('keeps rows of one tenant invisible from the other, through the API and in the database', async () => {
    await t.as('admin@sandbox.dev', 'dev').post(ITEMS).send({ name: 'only-in-dev' }).expect(201);
    await t.as('admin@sandbox.dev', 'acme').post(ITEMS).send({ name: 'only-in-acme' }).expect(201);

    const devNames = (await t.as('admin@sandbox.dev', 'dev').get(ITEMS).expect(200)).body.data.map((i: { name: string }) => i.name);
    const acmeNames = (await t.as('admin@sandbox.dev', 'acme').get(ITEMS).expect(200)).body.data.map((i: { name: string }) => i.name);
    expect(devNames).toContain('only-in-dev');
    expect(devNames).not.toContain('only-in-acme');
    expect(acmeNames).toContain('only-in-acme');
    expect(acmeNames).not.toContain('only-in-dev');

    const inDev = await t.sql<{ name: string }>('SELECT name FROM tenant_dev.items_items');
    const inAcme = await t.sql<{ name: string }>('SELECT name FROM tenant_acme.items_items');
    expect(inDev.map((r) => r.name)).toContain('only-in-dev');
    expect(inDev.map((r) => r.name)).not.toContain('only-in-acme');
    expect(inAcme.map((r) => r.name)).toEqual(['only-in-acme']);
    // Nothing of a module lands in public.
    expect(await t.sql(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'items_items'`)).toEqual([]);
  });

  it('has no tenant_id column in any tenant-schema table', async () => {
    const tables = await t.sql<{ table_schema: string; table_name: string }>(
      `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('tenant_dev', 'tenant_acme')`);
    expect(tables.map((r) => `${r.table_schema}.${r.table_name}`).sort()).toEqual(['tenant_acme.items_items', 'tenant_dev.items_items']);
    const tenantIdColumns = await t.sql(
      `SELECT table_schema, table_name FROM information_schema.columns
        WHERE column_name = 'tenant_id' AND table_schema IN (SELECT schema_name FROM public.sys_tenant)`);
    expect(tenantIdColumns).toEqual([]);
  });

  it('rolls back withTenantTx when its function throws', async () => {
    const { id } = await t.sandbox.tenancy.get('dev');
    await expect(t.sandbox.tenancy.withTenantTx(id, async (db) => {
      await db.execute(`INSERT INTO items_items (name) VALUES ('rolled-back')`);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await t.sql(`SELECT 1 FROM tenant_dev.items_items WHERE name = 'rolled-back'`)).toEqual([]);
  });

  it('nests db.transaction() as a savepoint inside the tenant transaction', async () => {
    const { id } = await t.sandbox.tenancy.get('acme');
    await t.sandbox.tenancy.withTenantTx(id, async (db) => {
      await db.execute(`INSERT INTO items_items (name) VALUES ('outer-before')`);
      await expect(db.transaction(async (tx) => {
        await tx.execute(`INSERT INTO items_items (name) VALUES ('inner-undone')`);
        throw new Error('inner failure');
      })).rejects.toThrow('inner failure');
      await db.transaction(async (tx) => tx.execute(`INSERT INTO items_items (name) VALUES ('inner-kept')`));
      await db.execute(`INSERT INTO items_items (name) VALUES ('outer-after')`);
    });
    const names = (await t.sql<{ name: string }>(`SELECT name FROM tenant_acme.items_items WHERE name LIKE 'outer%' OR name LIKE 'inner%' ORDER BY name`)).map((r) => r.name);
    expect(names).toEqual(['inner-kept', 'outer-after', 'outer-before']);
  });

  it('leaves no search_path behind on the pooled connection (SET LOCAL, not SET)', async () => {
    const pool = new pg.Pool({ connectionString: t.database.url, max: 1 });
    // A session the database's drop ends must not surface as an uncaught pool error.
    pool.on('error', () => {});
    try {
      const inside = await inSchemaTransaction(pool, 'tenant_acme', async (client) => (await client.query('SHOW search_path')).rows[0].search_path);
      expect(inside).toBe('tenant_acme, public');
      const after = (await pool.query('SHOW search_path')).rows[0].search_path;
      expect(after).toBe('"$user", public');
      await expect(inSchemaTransaction(pool, 'tenant_acme', async () => { throw new Error('fail'); })).rejects.toThrow('fail');
      expect((await pool.query('SHOW search_path')).rows[0].search_path).toBe('"$user", public');
    } finally {
      await pool.end();
    }
  });

  it('finds tenants by id, code and domain, and refuses unknown ones by name', async () => {
    const dev = await t.sandbox.tenancy.get('dev');
    expect(await t.sandbox.tenancy.get(dev.id)).toEqual(dev);
    expect(await t.sandbox.tenancy.resolve({ domain: 'ACME.localhost' })).toMatchObject({ code: 'acme', schema: 'tenant_acme' });
    expect(await t.sandbox.tenancy.resolve({ code: 'ghost' })).toBeNull();
    await expect(t.sandbox.tenancy.withTenantTx('ghost', async () => 1)).rejects.toThrow(/Tenant "ghost" does not exist/);
  });
});

describe('schema names', () => {
  it('accepts plain identifiers and refuses anything that would need quoting or is reserved', () => {
    expect(assertSchemaName('tenant_dev')).toBe('tenant_dev');
    expect(assertSchemaName('_t1')).toBe('_t1');
    for (const bad of ['Tenant', 'tenant-dev', 'tenant dev', 'x"; DROP SCHEMA public; --', 'pg_catalog', '1tenant', '', 'a'.repeat(64)]) {
      expect(() => assertSchemaName(bad), bad).toThrow(/Invalid tenant schema name/);
    }
  });
});
