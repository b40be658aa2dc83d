/**
 * The admin API's plugins routes on a real sandbox, on both servers: who may call them, the
 * plugins × tenants grid with its filters and paging, the versioned toggle and kill switch (409
 * naming who changed the row, 428 without If-Match), what the plugin's own routes answer after,
 * the audit entries each change leaves, and hostile input on every route changing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenants } from '../sandbox/data/tenants.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { eventually } from './helpers/eventually.ts';

const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';

describe.each(databaseServers())('the admin API\'s plugin routes on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  const admin = () => t.as(ADMIN, 'dev');
  /** What a refused request must leave as it was. */
  const registry = async () => ({
    rows: await t.sql('SELECT tenant_id, plugin_id, enabled, revision FROM sys_tenant_plugins ORDER BY 1, 2'),
    plugins: await t.sql('SELECT plugin_id, enabled_global, revision FROM sys_plugins ORDER BY 1'),
    audit: await t.sql('SELECT count(*)::int AS n FROM sys_audit_log'),
  });

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    // Tenants made by another process: the sandbox takes them on (migrates, enables). Once it has,
    // items is made not installed there, as in a foundation that never enabled it for them.
    await createTenants({ pool: t.sandbox.database.pool, tenants: [{ code: 'globex', name: 'Globex 100%' }, { code: 'initech', name: 'Initech' }, { code: 'umbrella', name: 'Umbrella Corp' }] });
    const others = `(SELECT id FROM sys_tenant WHERE code IN ('globex', 'initech', 'umbrella'))`;
    await eventually(async () => ((await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_tenant_plugins WHERE enabled AND tenant_id IN ${others}`))[0]!.n === 3 ? true : undefined), 'the sandbox to take the new tenants on');
    await t.sql(`DELETE FROM sys_tenant_plugins WHERE tenant_id IN ${others}`);
    await t.sql(`DELETE FROM sys_plugin_migrations WHERE tenant_id IN ${others}`);
  });
  afterAll(() => t?.close());

  it('answers only a signed-in caller holding the route\'s permission', async () => {
    expect((await t.request.get('/api/admin/plugins').expect(401)).body.error).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await t.as(USER, 'dev').get('/api/admin/tenants').expect(403)).body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'admin.plugins.read' });
    const { body } = await t.as(USER, 'dev').put('/api/admin/plugins/items/tenants/acme').set('If-Match', '"r1"').send({ enabled: false }).expect(403);
    expect(body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'admin.plugins.toggle' });
    await t.grant(USER, 'dev', ['admin.plugins.read']);
    await t.as(USER, 'dev').get('/api/admin/plugins').expect(200);
    // Reading does not open writing.
    await t.as(USER, 'dev').put('/api/admin/plugins/items/kill-switch').set('If-Match', '"r1"').send({ engaged: true, reason: 'x' }).expect(403);
  });

  it('lists each plugin with its installed and available version, kill switch, counts and ETag', async () => {
    const { body } = await admin().get('/api/admin/plugins').expect(200);
    expect(body.tenants).toBe(5);
    expect(body.plugins).toEqual([expect.objectContaining({
      id: 'items', availableVersion: '0.1.0', installedVersion: '0.1.0', installed: true, killSwitch: false, tenantsEnabled: 2, tenantsInstalled: 2, etag: expect.stringMatching(/^"r\d+"$/),
    })]);
  });

  it('pages plugins × tenants by code, filtered in SQL by state, migration and search', async () => {
    const grid = async (query: string) => (await admin().get(`/api/admin/tenants?${query}`).expect(200)).body as { rows: { code: string; plugins: { items: { state: string; migration: { state: string } } } }[]; total: number; next?: string };
    const codes = async (query: string) => (await grid(query)).rows.map((r) => r.code);

    expect(await codes('')).toEqual(['acme', 'dev', 'globex', 'initech', 'umbrella']);
    expect((await grid('')).rows[0]!.plugins.items).toMatchObject({ state: 'enabled', version: '0.1.0', revision: expect.any(Number), migration: { state: 'applied' } });
    expect((await grid('')).rows[2]!.plugins.items).toMatchObject({ state: 'not-installed', version: null, revision: 0, migration: { state: 'pending', pending: 1 } });
    expect(await codes('plugin=items&state=enabled')).toEqual(['acme', 'dev']);
    expect(await codes('plugin=items&state=not-installed')).toEqual(['globex', 'initech', 'umbrella']);
    expect(await codes('plugin=items&migration=pending')).toEqual(['globex', 'initech', 'umbrella']);
    expect(await codes('plugin=items&migration=applied&version=0.1.0')).toEqual(['acme', 'dev']);
    expect(await codes('q=CORP')).toEqual(['acme', 'umbrella']);
    // A search is text, not a pattern: % and _ match themselves.
    expect(await codes(`q=${encodeURIComponent('100%')}`)).toEqual(['globex']);
    expect(await codes('q=_')).toEqual([]);

    const tenant = (await t.sql<{ id: string }>(`SELECT id FROM sys_tenant WHERE code = 'initech'`))[0]!.id;
    await t.sql(`INSERT INTO sys_migration_quarantine (plugin_id, schema_name, tenant_id, failures, file, error) VALUES ('items', 'tenant_initech', $1, 1, 'tenant/001_init.sql', 'relation exists')`, [tenant]);
    expect(await codes('plugin=items&migration=failed')).toEqual(['initech']);
    expect((await grid('plugin=items&migration=failed')).rows[0]!.plugins.items.migration).toEqual({ state: 'failed', file: 'tenant/001_init.sql', error: 'relation exists', failures: 1, pending: 1 });
    await t.sql(`UPDATE sys_migration_quarantine SET quarantined_at = now(), failures = 3 WHERE tenant_id = $1`, [tenant]);
    expect(await codes('plugin=items&migration=quarantined')).toEqual(['initech']);
    expect(await codes('plugin=items&migration=pending')).toEqual(['globex', 'umbrella']);
    await t.sql(`DELETE FROM sys_migration_quarantine WHERE tenant_id = $1`, [tenant]);

    const seen: string[] = [];
    let page = await grid('limit=2');
    expect(page.total).toBe(5);
    for (;;) {
      seen.push(...page.rows.map((r) => r.code));
      expect(page.rows.length).toBeLessThanOrEqual(2);
      if (!page.next) break;
      page = await grid(`limit=2&after=${page.next}`);
    }
    expect(seen).toEqual(['acme', 'dev', 'globex', 'initech', 'umbrella']);
  });

  it('toggles one tenant with the ETag it read; the plugin then answers 403 PLUGIN_DISABLED there, and 200 again once enabled', async () => {
    const cell = async () => ((await admin().get('/api/admin/tenants?q=acme').expect(200)).body.rows[0].plugins.items as { revision: number });
    const { revision } = await cell();
    const off = await admin().put('/api/admin/plugins/items/tenants/acme').set('If-Match', `"r${revision}"`).send({ enabled: false }).expect(200);
    expect(off.headers.etag).toBe(`"r${revision + 1}"`);
    expect(off.body).toMatchObject({ pluginId: 'items', tenant: 'acme', enabled: false, revision: revision + 1, updatedBy: ADMIN, updatedAt: expect.any(String) });
    await eventually(async () => ((await t.as(ADMIN, 'acme').get('/api/plugins/items/items')).status === 403 ? true : undefined), 'acme to lose items');
    const refused = await t.as(ADMIN, 'acme').get('/api/plugins/items/items').expect(403);
    expect(refused.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items' });
    await t.as(ADMIN, 'dev').get('/api/plugins/items/items').expect(200);

    const entry = (await admin().get('/api/admin/audit?tenant=acme&action=plugin.disable').expect(200)).body.entries[0];
    expect(entry).toMatchObject({ actor: ADMIN, source: 'api', action: 'plugin.disable', pluginId: 'items', tenantCode: 'acme', before: { enabled: true }, after: { enabled: false }, requestId: off.headers['x-request-id'] });

    await admin().put('/api/admin/plugins/items/tenants/acme').set('If-Match', off.headers.etag!).send({ enabled: true }).expect(200);
    await eventually(async () => ((await t.as(ADMIN, 'acme').get('/api/plugins/items/items')).status === 200 ? true : undefined), 'acme to get items back');
  });

  it('refuses the second of two writes made from the same read, 409 naming who changed the row and when', async () => {
    const { revision } = (await admin().get('/api/admin/tenants?q=dev').expect(200)).body.rows[0].plugins.items as { revision: number };
    const first = await t.as(ADMIN, 'dev').put('/api/admin/plugins/items/tenants/dev').set('If-Match', `"r${revision}"`).send({ enabled: false }).expect(200);
    const before = await registry();
    const second = await t.as(ADMIN, 'acme').put('/api/admin/plugins/items/tenants/dev').set('If-Match', `"r${revision}"`).send({ enabled: true }).expect(409);
    expect(second.body.error).toMatchObject({
      code: 'STALE_WRITE', expectedRevision: revision, currentRevision: revision + 1, changedBy: ADMIN, changedAt: first.body.updatedAt, etag: `"r${revision + 1}"`,
      message: expect.stringMatching(/changed since it was read .*by admin@sandbox\.dev at \d{4}-/),
    });
    expect(await registry()).toEqual(before);
    await admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', first.headers.etag!).send({ enabled: true }).expect(200);
  });

  it('pulls the kill switch only with a reason and the ETag, logs the reason, and every tenant then answers PLUGIN_DISABLED', async () => {
    const plugin = async () => ((await admin().get('/api/admin/plugins').expect(200)).body.plugins[0] as { etag: string; killSwitch: boolean });
    const { etag } = await plugin();
    expect((await admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', etag).send({ engaged: true }).expect(400)).body.error).toMatchObject({ code: 'INVALID_BODY', field: 'reason' });
    const pulled = await admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', etag).send({ engaged: true, reason: 'incident 42: items leaks memory' }).expect(200);
    expect(pulled.body).toMatchObject({ pluginId: 'items', killSwitch: true, updatedBy: ADMIN });
    expect((await plugin()).killSwitch).toBe(true);
    for (const tenant of ['dev', 'acme']) {
      await eventually(async () => ((await t.as(ADMIN, tenant).get('/api/plugins/items/items')).status === 403 ? true : undefined), `${tenant} to lose items`);
    }
    const [entry] = (await admin().get('/api/admin/audit?plugin=items&action=plugin.global.disable').expect(200)).body.entries;
    expect(entry).toMatchObject({ actor: ADMIN, reason: 'incident 42: items leaks memory', before: { enabledGlobal: true }, after: { enabledGlobal: false } });

    await admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', etag).send({ engaged: false, reason: 'stale' }).expect(409);
    await admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', pulled.headers.etag!).send({ engaged: false, reason: 'fixed in 1.0.1' }).expect(200);
    await eventually(async () => ((await t.as(ADMIN, 'dev').get('/api/plugins/items/items')).status === 200 ? true : undefined), 'items back');
  });

  describe('hostile input changes nothing and gets a 4xx envelope', () => {
    const cases: [string, () => Promise<{ status: number; body: { error?: { code?: string; requestId?: string } } }>, number, string][] = [
      ['an unknown query parameter', () => admin().get('/api/admin/tenants?sort=code'), 400, 'INVALID_QUERY'],
      ['a repeated query parameter', () => admin().get('/api/admin/tenants?q=a&q=b'), 400, 'INVALID_QUERY'],
      ['an object in the query', () => admin().get('/api/admin/tenants?q[$ne]=x'), 400, 'INVALID_QUERY'],
      ['SQL in the plugin filter', () => admin().get(`/api/admin/tenants?plugin=${encodeURIComponent("items' OR '1'='1")}`), 400, 'INVALID_QUERY'],
      ['a filter without its plugin', () => admin().get('/api/admin/tenants?state=enabled'), 400, 'INVALID_QUERY'],
      ['an unknown state', () => admin().get('/api/admin/tenants?plugin=items&state=maybe'), 400, 'INVALID_QUERY'],
      ['a zero limit', () => admin().get('/api/admin/tenants?limit=0'), 400, 'INVALID_QUERY'],
      ['a limit past the page size', () => admin().get('/api/admin/tenants?limit=501'), 400, 'INVALID_QUERY'],
      ['a fractional limit', () => admin().get('/api/admin/tenants?limit=1.5'), 400, 'INVALID_QUERY'],
      ['a cursor that is no tenant code', () => admin().get(`/api/admin/tenants?after=${encodeURIComponent('a\u0000b')}`), 400, 'INVALID_QUERY'],
      ['a 101-character search', () => admin().get(`/api/admin/tenants?q=${'x'.repeat(101)}`), 400, 'INVALID_QUERY'],
      ['a plugin this host does not run', () => admin().get('/api/admin/tenants?plugin=ghost'), 404, 'PLUGIN_NOT_FOUND'],
      ['a path plugin id that is no id', () => admin().put('/api/admin/plugins/..%2F..%2Fetc/tenants/dev').set('If-Match', '"r1"').send({ enabled: true }), 400, 'INVALID_PLUGIN_ID'],
      ['an unknown tenant', () => admin().put('/api/admin/plugins/items/tenants/nobody').set('If-Match', '"r1"').send({ enabled: true }), 404, 'TENANT_NOT_FOUND'],
      ['a tenant code that is a uuid', () => admin().put('/api/admin/plugins/items/tenants/00000000-0000-0000-0000-000000000000').set('If-Match', '"r1"').send({ enabled: true }), 400, 'INVALID_TENANT_CODE'],
      ['no If-Match', () => admin().put('/api/admin/plugins/items/tenants/dev').send({ enabled: false }), 428, 'PRECONDITION_REQUIRED'],
      ['a weak or foreign ETag', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', 'W/"r1"').send({ enabled: false }), 400, 'INVALID_IF_MATCH'],
      ['If-Match *', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '*').send({ enabled: false }), 400, 'INVALID_IF_MATCH'],
      ['a body that is an array', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r1"').send([{ enabled: false }]), 400, 'INVALID_BODY'],
      ['enabled as a string', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r1"').send({ enabled: 'false' }), 400, 'INVALID_BODY'],
      ['enabled null', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r1"').send({ enabled: null }), 400, 'INVALID_BODY'],
      ['an extra field', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r1"').send({ enabled: false, revision: 99 }), 400, 'INVALID_BODY'],
      ['a __proto__ field', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r1"').set('Content-Type', 'application/json').send('{"enabled": false, "__proto__": {"admin": true}}'), 400, 'INVALID_BODY'],
      ['malformed JSON', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r1"').set('Content-Type', 'application/json').send('{"enabled": fal'), 400, 'INVALID_JSON'],
      ['a kill-switch reason with a newline', () => admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', '"r1"').send({ engaged: true, reason: 'a\nb' }), 400, 'INVALID_BODY'],
      ['a blank kill-switch reason', () => admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', '"r1"').send({ engaged: true, reason: '   ' }), 400, 'INVALID_BODY'],
      ['a 501-character reason', () => admin().put('/api/admin/plugins/items/kill-switch').set('If-Match', '"r1"').send({ engaged: true, reason: 'x'.repeat(501) }), 400, 'INVALID_BODY'],
      ['a stale ETag', () => admin().put('/api/admin/plugins/items/tenants/dev').set('If-Match', '"r999999"').send({ enabled: false }), 409, 'STALE_WRITE'],
      ['an audit cursor that is not one', () => admin().get('/api/admin/audit?before=0'), 400, 'INVALID_QUERY'],
      ['an audit date that is not one', () => admin().get('/api/admin/audit?from=yesterday'), 400, 'INVALID_QUERY'],
      ['an audit export format', () => admin().get('/api/admin/audit/export?format=xlsx'), 400, 'INVALID_QUERY'],
    ];
    it.each(cases)('%s', async (_what, send, status, code) => {
      const before = await registry();
      const { status: got, body } = await send();
      expect(got).toBe(status);
      expect(body.error).toMatchObject({ code, requestId: expect.any(String) });
      expect(await registry()).toEqual(before);
    });
  });

  it('exports the audit log as JSON lines and as CSV, with the filters applied', async () => {
    const jsonl = await admin().get('/api/admin/audit/export?plugin=items&action=plugin.disable').expect(200);
    expect(jsonl.headers['content-type']).toMatch(/application\/x-ndjson/);
    const entries = jsonl.text.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.action === 'plugin.disable' && e.pluginId === 'items')).toBe(true);
    const csv = await admin().get('/api/admin/audit/export?plugin=items&action=plugin.disable&format=csv').expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.text.split('\n')[0]).toBe('id,at,actor,source,action,pluginId,tenantId,tenantCode,before,after,reason,requestId');
    expect(csv.text.trimEnd().split('\n')).toHaveLength(entries.length + 1);
    await t.as(USER, 'dev').get('/api/admin/audit/export').expect(403);
  });
});
