/**
 * Three modules vendored into ONE copy of the reference foundation and served by it, each checked
 * against the seeds' exit criteria: the foundation type-checks with the vendored code and the one
 * bindings edit; health is 200 without identity; each entity's list route is 401 without identity
 * and 403 until its permission is granted, then 2xx; a row made in one tenant is invisible from
 * the other (API and SQL); tenant tables have no tenant_id; refusals come in the contract's
 * envelope, not the foundation's own error body. The modules: examples/items, examples/warehouse
 * (two entities, two migrations) and one generated here with an id unlike items' in every way the
 * rules allow (40 characters, the longest; dashes; digits; a segment of digits only).
 *
 * The modules' tenant migrations are applied by the helper (applyModuleMigrations, temporary):
 * the kit's runner does not read a foundation's own tenant table yet.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginIdProblem } from '../rules/index.ts';
import { generateModule, startReferenceFoundation, typecheckFoundation, UNUSUAL_MODULE_ID, type FoundationInstance, type FoundationTenant } from './helpers/foundation-instance.ts';
import { REPO_ROOT } from './helpers/reference-foundation.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Unlike `items` in every way a plugin id may be: 40 characters (the most), six dashes, digits, a segment of digits only. */
const GENERATED_ID = UNUSUAL_MODULE_ID;

interface Entity {
  /** The list route, under /api/plugins/<id>, and the permission word: `<id>.<resource>.read`. */
  resource: string;
  table: string;
  /** The code of a 404 for an id not in the tenant. */
  notFound: string;
}
interface ModuleSpec {
  id: string;
  /** The module folder (the generated one exists only once beforeAll made it). */
  dir: () => string;
  entities: Entity[];
}

let generatedDir: string | undefined;
const MODULES: ModuleSpec[] = [
  { id: 'items', dir: () => path.join(REPO_ROOT, 'examples/items'), entities: [{ resource: 'items', table: 'items_items', notFound: 'ITEM_NOT_FOUND' }] },
  {
    id: 'warehouse',
    dir: () => path.join(REPO_ROOT, 'examples/warehouse'),
    entities: [
      { resource: 'products', table: 'warehouse_products', notFound: 'PRODUCT_NOT_FOUND' },
      { resource: 'suppliers', table: 'warehouse_suppliers', notFound: 'SUPPLIER_NOT_FOUND' },
    ],
  },
  {
    id: GENERATED_ID,
    dir: () => generatedDir!,
    // The table's index name is 63 characters, PostgreSQL's longest identifier.
    entities: [{ resource: 'entries', table: 'q4_stock_ledger_2026_north_region_b2b_eu_entries', notFound: 'ENTRY_NOT_FOUND' }],
  },
];

describe('items, warehouse and a generated module vendored into one reference foundation, on the PostgreSQL at TEST_DATABASE_URL', () => {
  let f: FoundationInstance;
  let generated: { dir: string; remove(): void } | undefined;
  let dev: FoundationTenant;
  let acme: FoundationTenant;
  /** The vendored module.config.ts of each module (written as data by vendoring). */
  const configs = new Map<string, { permissions: string[] }>();

  beforeAll(async () => {
    expect(pluginIdProblem(GENERATED_ID)).toBeUndefined();
    generated = await generateModule(GENERATED_ID);
    generatedDir = generated.dir;

    f = await startReferenceFoundation({ modules: MODULES.map((spec) => spec.dir()), serverUrl: SERVER_URL });
    ({ dev, acme } = f.tenants);
    for (const { id } of MODULES) {
      configs.set(id, (await import(pathToFileURL(path.join(f.root, 'src/modules', id, 'module.config.ts')).href)).default);
    }
  });

  afterAll(async () => {
    await f?.close();
    generated?.remove();
  });

  it('type-checks: the three vendored modules, their adapters and the library, with the one bindings edit', () => {
    const { status, output } = typecheckFoundation(f.root);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('mounts the three modules side by side, each with the permissions its module.config.ts declares', () => {
    expect(f.moduleIds).toEqual(MODULES.map((spec) => spec.id));
    const mounted = f.app.locals.modules as { id: string; permissions: string[] }[];
    expect(mounted.map((m) => m.id).sort()).toEqual(MODULES.map((spec) => spec.id).sort());
    for (const { id, permissions } of mounted) expect(permissions, id).toEqual(configs.get(id)!.permissions);
  });

  describe.each(MODULES.map((spec) => [spec.id, spec] as const))('module %s', (id, { entities }) => {
    const api = `/api/plugins/${id}`;
    const read = (entity: Entity) => `${id}.${entity.resource}.read`;

    it('checks one list route per entity its module.config.ts declares a read permission for', () => {
      const declared = configs.get(id)!.permissions;
      expect(declared.filter((p) => p.endsWith('.read')).sort()).toEqual(entities.map(read).sort());
      for (const entity of entities) expect(declared).toContain(`${id}.${entity.resource}.create`);
    });

    it('answers /health without identity', async () => {
      const res = await f.anonymous().get(`${api}/health`).expect(200);
      expect(res.body).toEqual({ ok: true, plugin: id, version: '0.1.0' });
    });

    it('refuses each list route in the contract\'s envelope (401 without identity, 403 until the permission is granted), then serves it', async () => {
      const bob = () => f.as(f.users.bob, dev);
      for (const entity of entities) {
        const anonymous = await f.anonymous().get(`${api}/${entity.resource}`).expect(401);
        expect(anonymous.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'This route needs a signed-in user in a tenant.', requestId: expect.any(String) } });
        // Before its own grant (for warehouse's second entity: after the first one's).
        const refused = await bob().get(`${api}/${entity.resource}`).expect(403);
        expect(refused.body).toEqual({ error: { code: 'FORBIDDEN', message: `You don't have permission ${read(entity)}.`, permission: read(entity), requestId: expect.any(String) } });

        await f.grant(f.users.bob, dev, [read(entity)]);
        const listed = await bob().get(`${api}/${entity.resource}`).expect(200);
        expect(listed.body).toEqual({ data: [] });
        // Granted in dev, which is nothing in acme.
        await f.as(f.users.bob, acme).get(`${api}/${entity.resource}`).expect(403);
      }
    });

    it('keeps two tenants apart: a row made in dev is not in acme, by the API (list, GET by id) nor by SQL', async () => {
      const permissions = configs.get(id)!.permissions;
      await f.grant(f.users.alice, dev, permissions);
      await f.grant(f.users.alice, acme, permissions);
      const inDev = () => f.as(f.users.alice, dev);
      const inAcme = () => f.as(f.users.alice, acme);
      for (const entity of entities) {
        const created = await inDev().post(`${api}/${entity.resource}`).send({ name: `Only in dev (${entity.resource})` }).expect(201);
        const rowId = created.body.data.id as string;
        expect((await inDev().get(`${api}/${entity.resource}`).expect(200)).body.data.map((row: { id: string }) => row.id)).toContain(rowId);
        await inDev().get(`${api}/${entity.resource}/${rowId}`).expect(200);
        expect((await inAcme().get(`${api}/${entity.resource}`).expect(200)).body).toEqual({ data: [] });
        const missing = await inAcme().get(`${api}/${entity.resource}/${rowId}`).expect(404);
        expect(missing.body.error).toMatchObject({ code: entity.notFound });

        const inSchema = async (tenant: FoundationTenant) => (await f.sql<{ id: string }>(`SELECT id FROM "${tenant.schemaName}".${entity.table}`)).map((row) => row.id);
        expect(await inSchema(dev)).toContain(rowId);
        expect(await inSchema(acme)).toEqual([]);
      }
    });

    it('has its tables in both tenant schemas, none with a tenant_id column', async () => {
      const tables = entities.map((entity) => entity.table);
      const placed = await f.sql<{ table_schema: string; table_name: string }>(
        `SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = ANY($1) ORDER BY table_schema, table_name`, [tables]);
      expect(placed).toEqual([dev.schemaName, acme.schemaName].sort().flatMap((schema) => [...tables].sort().map((table) => ({ table_schema: schema, table_name: table }))));
      const tenantIds = await f.sql(`SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_name = ANY($1)`, [tables]);
      expect(tenantIds).toEqual([]);
    });

    it('answers a client\'s mistakes with the module\'s own codes in the envelope', async () => {
      await f.grant(f.users.alice, dev, configs.get(id)!.permissions);
      const [entity] = entities;
      const invalid = await f.as(f.users.alice, dev).post(`${api}/${entity!.resource}`).send({ name: '  ' }).expect(400);
      expect(invalid.body).toEqual({ error: { code: 'VALIDATION_FAILED', field: 'name', message: 'name: must not be empty', requestId: expect.any(String) } });
      const missing = await f.as(f.users.alice, dev).get(`${api}/nothing-here`).expect(404);
      expect(missing.body).toEqual({ error: { code: 'NOT_FOUND', message: `No route for GET ${api}/nothing-here.`, requestId: expect.any(String) } });
    });
  });

  it('stores no tenant_id in any table of the tenant schemas', async () => {
    const rows = await f.sql(`SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema IN ($1, $2)`, [dev.schemaName, acme.schemaName]);
    expect(rows).toEqual([]);
    const [{ count }] = await f.sql<{ count: number }>(`SELECT count(*)::int AS count FROM information_schema.tables WHERE table_schema IN ($1, $2)`, [dev.schemaName, acme.schemaName]) as [{ count: number }];
    expect(count).toBe(2 * MODULES.flatMap((spec) => spec.entities).length);
  });
});
