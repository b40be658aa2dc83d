/**
 * The operator commands run from a foundation's root, on its database and its own tenant table
 * (org_tenants, named by tenantTable in its bindings file): `migrate` reaches every tenant the foundation has, new ones
 * and dropped ones included; `plugins enable|disable` switch the module for the foundation's
 * tenants, and its adapter answers PLUGIN_DISABLED; the kit's own tenant commands are refused
 * there; a tenantTable that is wrong or hostile is refused with nothing written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import pg from 'pg';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { tenantsCommand } from '../cli/commands/tenants.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../testing/databases.ts';
import { runPlugins } from './helpers/plugins-fixtures.ts';
import { copyReferenceFoundation, editBindings, loadFromFoundation, loadReferenceFoundation, REPO_ROOT, runCommand, vendor, type FoundationTenant as Tenant, type ReferenceFoundationApi } from './helpers/reference-foundation.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ITEMS = path.join(REPO_ROOT, 'examples/items');

describe('operator commands in a foundation with its own tenant table, on the PostgreSQL at TEST_DATABASE_URL', () => {
  let database: ThrowawayDatabase;
  let root: string;
  let pool: pg.Pool;
  let app: Express;
  let tenants: ReferenceFoundationApi['tenants'];
  let dev: Tenant;
  let acme: Tenant;
  let admin: { id: string };
  let token: (tenant: Tenant) => Promise<string>;
  const migrate = (...args: string[]) => runCommand((write) => migrateCommand([...args, '--database-url', database.url], { cwd: root, write }));
  const plugins = (...args: string[]) => runPlugins([...args, '--database-url', database.url], { cwd: root });
  const schemaTables = async (schema: string) =>
    (await pool.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])).rows.map((r) => r.table_name);

  beforeAll(async () => {
    root = copyReferenceFoundation();
    const vendored = await vendor([ITEMS, '--into', root]);
    expect(vendored.code, vendored.lines.join('\n')).toBe(0);
    editBindings(root);
    database = await createThrowawayDatabase(SERVER_URL);
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    pool.on('error', () => {});
    const f = await loadReferenceFoundation(root);
    f.pool.setPool(pool);
    await f.bootstrap.bootstrap(pool);
    tenants = f.tenants;
    [dev, acme] = [await tenants.createTenant(pool, 'dev'), await tenants.createTenant(pool, 'acme')];
    admin = await tenants.createUser(pool, 'admin@example.com');
    for (const tenant of [dev, acme]) await f.rbac.grantPermissions(pool, { userId: admin.id, tenantId: tenant.id }, ['items.items.read', 'items.items.create']);
    token = async (tenant) => `Bearer ${await f.jwt.signToken({ userId: admin.id, tenantId: tenant.id })}`;
    app = await f.app.createApp();
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop().catch(() => {});
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('plans from the foundation\'s tenants without writing anything, then migrates each of them once', async () => {
    const dry = await migrate('up', '--dry-run');
    expect(dry.code, dry.text).toBe(0);
    expect(dry.text).toMatch(/\bdev\b/);
    expect(dry.text).toMatch(/\bacme\b/);
    const kitTables = await pool.query("SELECT to_regclass('public.sys_plugin_migrations') AS ledger");
    expect(kitTables.rows[0].ledger, 'a dry run creates no kit table').toBeNull();

    const up = await migrate('up', '--json');
    expect(up.code, up.text).toBe(0);
    for (const tenant of [dev, acme]) expect(await schemaTables(tenant.schemaName)).toContain('items_items');
    // The ledger keys each tenant by the foundation's own uuid, through the kit's mirror of org_tenants.
    const { rows } = await pool.query<{ tenant_id: string; code: string; schema_name: string }>(
      `SELECT DISTINCT m.tenant_id::text, t.code, t.schema_name FROM public.sys_plugin_migrations m JOIN public.sys_tenant t ON t.id = m.tenant_id ORDER BY t.code`);
    expect(rows).toEqual([
      { tenant_id: acme.id, code: 'acme', schema_name: acme.schemaName },
      { tenant_id: dev.id, code: 'dev', schema_name: dev.schemaName },
    ]);

    const again = await migrate('up', '--json');
    expect(again.code, again.text).toBe(0);
    const { rows: [count] } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM public.sys_plugin_migrations WHERE tenant_id IS NOT NULL');
    expect(count!.n, 'each file once per tenant').toBe(2 * fs.readdirSync(path.join(ITEMS, 'migrations/tenant')).filter((f) => !f.endsWith('.down.sql')).length);
    const status = await migrate('status');
    expect(status.code).toBe(0);
    expect(status.text).not.toMatch(/pending/i);
  });

  it('migrates a tenant the foundation creates later, and forgets one it drops', async () => {
    const globex = await tenants.createTenant(pool, 'globex');
    const canary = await migrate('up', '--tenant', 'globex', '--json');
    expect(canary.code, canary.text).toBe(0);
    expect(await schemaTables(globex.schemaName)).toContain('items_items');

    await pool.query(`DELETE FROM public.org_tenants WHERE id = $1; DROP SCHEMA "${globex.schemaName}" CASCADE`.replace('$1', `'${globex.id}'`));
    // Before any refresh of the kit's copy, a plan of undoing never aims the dropped tenant's files at public.
    const downPlan = await migrate('down', '--dry-run', '--json');
    expect(downPlan.code, downPlan.text).toBe(0);
    const targets = JSON.parse(downPlan.lines.at(-1)!).plan.targets as { scope: string; schema: string; tenant: string | null }[];
    expect(targets.filter((t) => t.scope === 'tenant').map((t) => t.tenant).sort()).toEqual(['acme', 'dev']);
    expect(targets.filter((t) => t.scope === 'tenant' && t.schema === 'public')).toEqual([]);
    const after = await migrate('up', '--json');
    expect(after.code, after.text).toBe(0);
    const { rows } = await pool.query('SELECT code FROM public.sys_tenant ORDER BY code');
    expect(rows.map((r) => r.code)).toEqual(['acme', 'dev']);
    const { rows: ledger } = await pool.query('SELECT 1 FROM public.sys_plugin_migrations WHERE tenant_id = $1', [globex.id]);
    expect(ledger).toEqual([]);
  });

  it('switches the module per tenant: the adapter answers PLUGIN_DISABLED until enabled, then 200', async () => {
    const list = async (tenant: Tenant) => supertest(app).get('/api/plugins/items/items').set('Authorization', await token(tenant));
    // Migrated but never enabled: an operator's migrate registers a plugin switched off.
    const off = await list(dev);
    expect(off.status, JSON.stringify(off.body)).toBe(403);
    expect(off.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items', tenantId: dev.id });

    // Globally (the kill switch), then for every tenant.
    const global = await plugins('enable', 'items', '--json');
    expect(global.code, global.error).toBe(0);
    const enabled = await plugins('enable', 'items', '--all', '--json');
    expect(enabled.code, enabled.error).toBe(0);
    await waitFor(async () => (await list(dev)).status === 200);
    expect((await list(acme)).status).toBe(200);

    const disabled = await plugins('disable', 'items', '--tenant', 'acme', '--json');
    expect(disabled.code, disabled.error).toBe(0);
    await waitFor(async () => (await list(acme)).status === 403);
    expect((await list(acme)).body.error).toMatchObject({ code: 'PLUGIN_DISABLED', tenantId: acme.id });
    expect((await list(dev)).status, 'the other tenant keeps it').toBe(200);
    await supertest(app).get('/api/plugins/items/health').expect(200);
  });

  it('gives the plugin the foundation\'s tenants and their configuration, keyed by the foundation\'s ids', async () => {
    const listed = await plugins('config', 'items', '--tenant', 'dev', 'list', '--json');
    expect(listed.code, listed.error).toBe(0);
    await pool.query(`UPDATE public.sys_tenant_plugins SET config = '{"pageSize": 50}' WHERE plugin_id = 'items' AND tenant_id = $1`, [dev.id]);
    await pool.query(`UPDATE public.org_tenants SET hostname = 'dev.example.com' WHERE id = $1`, [dev.id]);
    const { kitRegistries } = await loadFromFoundation<{ kitRegistries: typeof import('../foundation-lib/registries.ts').kitRegistries }>(root, 'lib/foundation-module/registries.ts');
    const registries = kitRegistries(() => pool, { table: 'public.org_tenants', id: 'id', code: 'slug', schema: 'schema_name', domain: 'hostname' });
    expect(await registries.config.getTenant('items', dev.id, 'pageSize')).toBe(50);
    expect(await registries.config.getTenant('items', acme.id, 'pageSize')).toBeUndefined();
    expect(await registries.resolveTenant({ code: 'dev' })).toEqual({ id: dev.id, code: 'dev', name: 'dev', domain: 'dev.example.com', schema: dev.schemaName });
    expect(await registries.resolveTenant({ domain: 'DEV.example.com' })).toMatchObject({ id: dev.id });
    expect(await registries.resolveTenant({ code: "dev' OR '1'='1" })).toBeNull();
  });

  it('refuses the kit\'s own tenant commands there, and a foundation without a database URL', async () => {
    const create = await runCommand((write) => tenantsCommand(['create', 'other', '--database-url', database.url], '0.0.0', { cwd: root, write }));
    expect(create.code).toBe(1);
    expect(create.text).toMatch(/made and dropped by the foundation itself/);
    const { rows } = await pool.query("SELECT 1 FROM public.sys_tenant WHERE code = 'other'");
    expect(rows).toEqual([]);
    const list = await runCommand((write) => tenantsCommand(['list', '--json', '--database-url', database.url], '0.0.0', { cwd: root, write }));
    expect(list.code, list.text).toBe(0);
    expect(JSON.parse(list.lines[0]!).map((t: { code: string }) => t.code)).toEqual(['acme', 'dev']);

    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const noUrl = await runCommand((write) => migrateCommand(['status'], { cwd: root, write }));
      expect(noUrl.code).toBe(2);
      expect(noUrl.text).toMatch(/DATABASE_URL or --database-url/);
      expect(fs.existsSync(path.join(root, '.sandbox')), 'no embedded PostgreSQL started in the foundation').toBe(false);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });

  const GOOD_TABLE = "export const tenantTable = { table: 'public.org_tenants', id: 'id', code: 'slug', schema: 'schema_name', domain: 'hostname' } satisfies TenantDirectory;";
  /** Runs `work` with the bindings' tenantTable declaration replaced by `declaration`, then puts the maintainer's back. */
  async function withTenantTable<T>(declaration: string, work: () => Promise<T>): Promise<T> {
    const file = path.join(root, 'src/lib/foundation-module/bindings.ts');
    const good = fs.readFileSync(file, 'utf8');
    expect(good).toContain(GOOD_TABLE);
    fs.writeFileSync(file, good.replace(GOOD_TABLE, declaration));
    try {
      return await work();
    } finally {
      fs.writeFileSync(file, good);
    }
  }

  it.each([
    ['no declaration', '', /must declare the foundation's tenant table once/],
    ['two declarations', `${GOOD_TABLE}\n${GOOD_TABLE}`, /must declare the foundation's tenant table once/],
    ['only a commented-out one', `// ${GOOD_TABLE}`, /must declare the foundation's tenant table once/],
    ['an expression', "export const tenantTable = { table: TABLE, id: 'id', schema: 'schema_name' };", /entry "table: TABLE" is not `name: 'value'`/],
    ['a template string', "export const tenantTable = { table: `org_${'tenants'}`, id: 'id', schema: 'schema_name' };", /is not `name: 'value'`/],
    ['no table', "export const tenantTable = { id: 'id', schema: 'schema_name' };", /"table" is required/],
    ['an unknown field', "export const tenantTable = { table: 'org_tenants', id: 'id', schema: 'schema_name', where: 'true' };", /unknown field "where"/],
    ['SQL in the table', "export const tenantTable = { table: 'org_tenants; DROP TABLE org_users; --', id: 'id', schema: 'schema_name' };", /"table" is .* lowercase/],
    ['SQL in a column', `export const tenantTable = { table: 'org_tenants', id: 'id" FROM org_users --', schema: 'schema_name' };`, /"id" is .* column name/],
    ['a three-part table', "export const tenantTable = { table: 'a.b.c', id: 'id', schema: 'schema_name' };", /"table" is/],
    ['an uppercase column', "export const tenantTable = { table: 'org_tenants', id: 'Id', schema: 'schema_name' };", /"id" is "Id"/],
    ['a missing table', "export const tenantTable = { table: 'no_such_tenants', id: 'id', schema: 'schema_name' };", /does not answer as tenantTable in the bindings says/],
    ['a missing column', "export const tenantTable = { table: 'org_tenants', id: 'uuid', schema: 'schema_name' };", /does not answer as tenantTable in the bindings says/],
  ])('refuses a bindings tenantTable with %s, exit 1, writing nothing', async (_name, declaration, message) => {
    const before = await snapshot(pool);
    await withTenantTable(declaration, async () => {
      for (const attempt of [() => migrate('up'), async () => { const r = await plugins('disable', 'items', '--tenant', 'dev'); return { code: r.code, text: r.error ?? '' }; }]) {
        const result = await attempt();
        expect(result.code).toBe(1);
        expect(result.text).toMatch(message);
      }
    });
    expect(await snapshot(pool)).toEqual(before);
  });

  it('reads a tenantTable written over several lines, with comments, double quotes and a trailing comma', async () => {
    const declaration = `export const tenantTable = {
      table: "public.org_tenants", // the foundation's own
      /* ids are uuids */ id: 'id',
      'code': 'slug',
      schema: 'schema_name',
    } as const;`;
    const status = await withTenantTable(declaration, () => migrate('status', '--json'));
    expect(status.code, status.text).toBe(0);
    expect(JSON.parse(status.lines.at(-1)!).plan.tenants).toBe(2);
  });

  it('serves a foundation whose tenants are uuids only (no code column): same tenants, same ledger, codes made from the ids', async () => {
    await withTenantTable("export const tenantTable = { table: 'public.org_tenants', id: 'id', schema: 'schema_name' };", async () => {
      const status = await migrate('status', '--json');
      expect(status.code, status.text).toBe(0);
      expect(JSON.parse(status.lines.at(-1)!).plan.targets, 'nothing pending: the ledger keys are the same uuids').toEqual([]);
      const canary = await migrate('up', '--tenant', `t-${dev.id}`, '--json');
      expect(canary.code, canary.text).toBe(0);
      const { rows } = await pool.query<{ code: string }>('SELECT code FROM public.sys_tenant ORDER BY code');
      expect(rows.map((r) => r.code).sort()).toEqual([`t-${acme.id}`, `t-${dev.id}`].sort());
    });
    await migrate('up');
  });

  it('maps tenants with integer ids and no code column, and leaves out one whose schema the kit would not put in SQL', async () => {
    await pool.query(`CREATE SCHEMA tenant_no_7; CREATE TABLE public.int_tenants (tenant_no integer PRIMARY KEY, db_schema text NOT NULL);
      INSERT INTO public.int_tenants VALUES (7, 'tenant_no_7'), (8, 'Bad Schema"; --');`);
    await withTenantTable("export const tenantTable = { table: 'int_tenants', id: 'tenant_no', schema: 'db_schema' };", async () => {
      const status = await migrate('status', '--json');
      expect(status.code, status.text).toBe(0);
      expect(status.lines[0]).toMatch(/warning: the foundation's tenant 8 is left out/);
      const plan = JSON.parse(status.lines.at(-1)!).plan;
      expect(plan.tenants).toBe(1);
      const up = await migrate('up', '--json');
      expect(up.code, up.text).toBe(0);
      const { rows } = await pool.query<{ code: string; schema_name: string }>('SELECT code, schema_name FROM public.sys_tenant');
      expect(rows).toEqual([{ code: 't-7', schema_name: 'tenant_no_7' }]);
      expect(await schemaTables('tenant_no_7')).toContain('items_items');
    });
    await migrate('up');
  });
});

/** Polls `check` for up to 3 s: the bindings reuse an enablement answer for a second. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 3_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached within 3 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What an operator command could have written: the kit's registries and the foundation's tenants. */
async function snapshot(pool: pg.Pool): Promise<unknown> {
  const { rows } = await pool.query(`SELECT
    (SELECT json_agg(t ORDER BY code) FROM public.sys_tenant t) AS mirror,
    (SELECT json_agg(p ORDER BY tenant_id) FROM public.sys_tenant_plugins p) AS enablement,
    (SELECT count(*) FROM public.sys_plugin_migrations) AS ledger,
    (SELECT json_agg(o ORDER BY slug) FROM public.org_tenants o) AS tenants`);
  return rows[0];
}
