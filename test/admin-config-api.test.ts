/**
 * A plugin's configuration and migration plan through the admin API, on both servers: values set
 * apart from those inherited from the schema's defaults, writes checked against the schema with
 * each problem at its field path (422), versioned like every admin write, the plugin reading the
 * new value at once; the dry-run plan with its SQL; hostile keys and bodies refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, PREFS_SCHEMAS, removeCapabilityModules } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

const ADMIN = 'admin@sandbox.dev';
const PREFS = `
const plugin: FoundationPlugin = {
  meta: { id: 'prefs', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.router.get('/config', async (req, res) => res.json({ pageSize: await ctx.config.getTenant(ctx.auth(req).tenantId, 'pageSize'), banner: await ctx.config.getGlobal('banner') }));
  },
};
export default plugin;
`;

describe.each(databaseServers())('configuration and migration plans in the admin API on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  const admin = () => t.as(ADMIN, 'dev');

  beforeAll(async () => {
    const dir = capabilityModule('prefs', {
      plugin: PREFS, config: PREFS_SCHEMAS,
      migrations: { 'tenant/001_init.sql': 'CREATE TABLE prefs_items (id int);\n', 'tenant/002_more.sql': 'ALTER TABLE prefs_items ADD COLUMN note text;\n' },
    });
    t = await startTestSandbox({ moduleDirs: [dir], serverUrl: server.url });
  });
  afterAll(() => t?.close());

  it('shows the values set apart from those inherited, then sets, refuses and removes a key', async () => {
    const shown = await admin().get('/api/admin/plugins/prefs/tenants/acme/config').expect(200);
    expect(shown.body).toMatchObject({ level: 'tenant', set: {}, effective: { pageSize: 20, limits: { max: 3 } }, inherited: ['limits', 'pageSize'], schema: { type: 'object' } });

    const set = await admin().put('/api/admin/plugins/prefs/tenants/acme/config/pageSize').set('If-Match', shown.headers.etag!).send({ value: 50 }).expect(200);
    expect(set.body).toMatchObject({ set: { pageSize: 50 }, effective: { pageSize: 50 }, inherited: ['limits'], updatedBy: ADMIN });
    expect((await t.as(ADMIN, 'acme').get('/api/plugins/prefs/config').expect(200)).body.pageSize).toBe(50);

    const refused = await admin().put('/api/admin/plugins/prefs/tenants/acme/config/limits').set('If-Match', set.headers.etag!).send({ value: { max: 'many', extra: 1 } }).expect(422);
    expect(refused.body.error).toMatchObject({ code: 'INVALID_CONFIG', problems: expect.arrayContaining([expect.objectContaining({ path: '$.limits.max' })]) });
    const stale = await admin().put('/api/admin/plugins/prefs/tenants/acme/config/pageSize').set('If-Match', shown.headers.etag!).send({ value: 60 }).expect(409);
    expect(stale.body.error).toMatchObject({ code: 'STALE_WRITE', changedBy: ADMIN });

    const removed = await admin().delete('/api/admin/plugins/prefs/tenants/acme/config/pageSize').set('If-Match', set.headers.etag!).expect(200);
    expect(removed.body).toMatchObject({ set: {}, inherited: ['limits', 'pageSize'] });
    const [entry] = (await admin().get('/api/admin/audit?tenant=acme&action=plugin.config').expect(200)).body.entries;
    expect(entry).toMatchObject({ actor: ADMIN, before: { config: { pageSize: 50 } }, after: { config: {} } });

    const global = await admin().get('/api/admin/plugins/prefs/config').expect(200);
    expect(global.body).toMatchObject({ level: 'global', inherited: ['banner'], effective: { banner: 'Welcome' } });
    await admin().put('/api/admin/plugins/prefs/config/banner').set('If-Match', global.headers.etag!).send({ value: 'Hello' }).expect(200);
    expect((await t.as(ADMIN, 'dev').get('/api/plugins/prefs/config').expect(200)).body.banner).toBe('Hello');
  });

  it('shows the dry-run plan with its SQL, for every tenant and for one', async () => {
    await t.sql(`DELETE FROM sys_plugin_migrations WHERE plugin_id = 'prefs' AND name = '002_more.sql' AND tenant_id = (SELECT id FROM sys_tenant WHERE code = 'acme')`);
    await t.sql('ALTER TABLE tenant_acme.prefs_items DROP COLUMN note');
    const all = await admin().get('/api/admin/plugins/prefs/migrations').expect(200);
    expect(all.body).toMatchObject({ pluginId: 'prefs', tenants: { total: 2, withWork: 1, blocked: 0, files: [{ name: '002_more.sql', tenants: 1, sql: 'ALTER TABLE prefs_items ADD COLUMN note text;\n' }] } });
    const one = await admin().get('/api/admin/plugins/prefs/migrations?tenant=acme').expect(200);
    expect(one.body.tenant).toEqual({ code: 'acme', blocked: null, files: [expect.objectContaining({ scope: 'tenant', name: '002_more.sql', sql: 'ALTER TABLE prefs_items ADD COLUMN note text;\n' })] });
    expect((await admin().get('/api/admin/plugins/prefs/migrations?tenant=dev').expect(200)).body.tenant.files).toEqual([]);
  });

  describe('hostile input changes nothing', () => {
    const cases: [string, () => Promise<{ status: number; body: { error?: { code?: string } } }>, number, string][] = [
      ['a key with a dot', () => admin().put('/api/admin/plugins/prefs/config/a.b').set('If-Match', '"r1"').send({ value: 1 }), 400, 'INVALID_CONFIG_KEY'],
      ['a __proto__ key', () => admin().put('/api/admin/plugins/prefs/config/__proto__').set('If-Match', '"r1"').send({ value: 1 }), 400, 'INVALID_CONFIG_KEY'],
      ['a body without value', () => admin().put('/api/admin/plugins/prefs/config/banner').set('If-Match', '"r1"').send({ banner: 'x' }), 400, 'INVALID_BODY'],
      ['a body with more than value', () => admin().put('/api/admin/plugins/prefs/config/banner').set('If-Match', '"r1"').send({ value: 'x', force: true }), 400, 'INVALID_BODY'],
      ['no If-Match', () => admin().put('/api/admin/plugins/prefs/config/banner').send({ value: 'x' }), 428, 'PRECONDITION_REQUIRED'],
      ['an unknown plugin', () => admin().get('/api/admin/plugins/ghost/config'), 404, 'PLUGIN_NOT_FOUND'],
      ['an unknown tenant', () => admin().get('/api/admin/plugins/prefs/tenants/nobody/config'), 404, 'TENANT_NOT_FOUND'],
      ['a tenant code with a slash', () => admin().get('/api/admin/plugins/prefs/tenants/..%2Fdev/config'), 400, 'INVALID_TENANT_CODE'],
      ['a plan for an unknown tenant', () => admin().get('/api/admin/plugins/prefs/migrations?tenant=nobody'), 404, 'TENANT_NOT_FOUND'],
      ['a plan with an unknown parameter', () => admin().get('/api/admin/plugins/prefs/migrations?plugin=prefs'), 400, 'INVALID_QUERY'],
    ];
    it.each(cases)('%s', async (_what, send, status, code) => {
      const before = await t.sql('SELECT plugin_id, config, revision FROM sys_plugins UNION ALL SELECT plugin_id, config, revision FROM sys_tenant_plugins ORDER BY 1, 3');
      const { status: got, body } = await send();
      expect(got).toBe(status);
      expect(body.error).toMatchObject({ code, requestId: expect.any(String) });
      expect(await t.sql('SELECT plugin_id, config, revision FROM sys_plugins UNION ALL SELECT plugin_id, config, revision FROM sys_tenant_plugins ORDER BY 1, 3')).toEqual(before);
    });

    it('needs admin.config.write to write', async () => {
      await t.grant('user@sandbox.dev', 'dev', ['admin.plugins.read']);
      await t.as('user@sandbox.dev', 'dev').get('/api/admin/plugins/prefs/config').expect(200);
      const refused = await t.as('user@sandbox.dev', 'dev').put('/api/admin/plugins/prefs/config/banner').set('If-Match', '"r1"').send({ value: 'x' }).expect(403);
      expect(refused.body.error).toMatchObject({ permission: 'admin.config.write' });
    });
  });
});
