/**
 * Issue 17: `ctx.config`. Tenant configuration follows module.config.ts `configSchema`, global
 * configuration `globalConfigSchema`: a key not set reads as its schema default; a write
 * (sandbox/registry/config-admin.ts) checks the whole resulting object in one locked transaction,
 * refusing an invalid value with the path of the field and what the schema wants. Schemas are
 * checked at load. Hostile keys and values tables. (The CLI is in plugins-config-cli.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModuleManifest } from '../sandbox/plugins/catalog.ts';
import { checkPlugin } from '../sandbox/plugins/loader.ts';
import { compileConfigSchema } from '../sandbox/plugins/config-schema.ts';
import { pluginConfig } from '../operations/registry/config.ts';
import { ConfigWriteError, MAX_CONFIG_DEPTH, readPluginConfig, setPluginConfig, type ConfigTarget } from '../operations/registry/config-admin.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, capturedLogger, PREFS_SCHEMAS, removeCapabilityModules, type CapturedLogger } from './helpers/capability-modules.ts';
import { listenForChanges } from './helpers/plugins-fixtures.ts';

afterAll(removeCapabilityModules);

const PREFS = `
const plugin: FoundationPlugin = {
  meta: { id: 'prefs', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    const read = async (tenantId: string) => ({
      pageSize: await ctx.config.getTenant(tenantId, 'pageSize'), colour: (await ctx.config.getTenant(tenantId, 'colour')) ?? null,
      limits: await ctx.config.getTenant(tenantId, 'limits'), banner: await ctx.config.getGlobal('banner'),
    });
    ctx.router.get('/config', async (req, res) => res.json(await read(ctx.auth(req).tenantId)));
    ctx.router.get('/config-in-tx', async (req, res) => {
      const { tenantId } = ctx.auth(req);
      res.json(await ctx.withTenantTx(tenantId, () => read(tenantId)));
    });
  },
};
export default plugin;
`;

describe.each(databaseServers())('plugin configuration on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let log: CapturedLogger;
  let dev: { id: string; code: string };
  let acme: { id: string; code: string };
  beforeAll(async () => {
    log = capturedLogger();
    const dir = capabilityModule('prefs', { plugin: PREFS, config: PREFS_SCHEMAS });
    t = await startTestSandbox({ moduleDirs: [dir], serverUrl: server.url, logger: log.logger });
    dev = await t.sandbox.tenancy.get('dev');
    acme = await t.sandbox.tenancy.get('acme');
  });
  afterAll(() => t?.close());
  const schemas = () => t.sandbox.plugins[0]!.configSchemas;
  const set = (target: Omit<ConfigTarget, 'pluginId'>, key: string, value: unknown) =>
    setPluginConfig({ pool: t.sandbox.database.pool, pluginId: 'prefs', ...target, key, value, schema: schemas()[target.tenant ? 'tenant' : 'global'] });

  it('reads schema defaults for keys not set, in and out of a tenant transaction', async () => {
    const expected = { pageSize: 20, colour: null, limits: { max: 3 }, banner: 'Welcome' };
    expect((await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/prefs/config').expect(200)).body).toEqual(expected);
    expect((await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/prefs/config-in-tx').expect(200)).body).toEqual(expected);
  });

  it('reads what a write set, per tenant and globally, and the default again once unset', async () => {
    expect(await set({ tenant: dev }, 'pageSize', 50)).toEqual({ previous: undefined, config: { pageSize: 50 } });
    await set({ tenant: dev }, 'limits', { max: 9 });
    await set({}, 'banner', 'Hello');
    expect((await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/prefs/config').expect(200)).body).toEqual({ pageSize: 50, colour: null, limits: { max: 9 }, banner: 'Hello' });
    expect((await t.as('admin@sandbox.dev', 'acme').get('/api/plugins/prefs/config-in-tx').expect(200)).body).toEqual({ pageSize: 20, colour: null, limits: { max: 3 }, banner: 'Hello' });
    expect(await set({ tenant: dev }, 'pageSize', undefined)).toEqual({ previous: 50, config: { limits: { max: 9 } } });
    expect((await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/prefs/config').expect(200)).body.pageSize).toBe(20);
    expect(await readPluginConfig(t.sandbox.database.pool, { pluginId: 'prefs', tenant: dev })).toEqual({ limits: { max: 9 } });
  });

  it.each([
    ['pageSize', '50', '$.pageSize must be integer'],
    ['pageSize', 0, '$.pageSize must be >= 1'],
    ['pageSize', 501, '$.pageSize must be <= 500'],
    ['colour', 'green', '$.colour must be equal to one of the allowed values: "red", "blue"'],
    ['limits', { max: 'x' }, '$.limits.max must be integer'],
    ['limits', { max: 1, min: 0 }, '$.limits.min is not a key the schema declares'],
    ['tags', ['ok', 'far too long a tag'], '$.tags[1] must NOT have more than 10 characters'],
    ['extra', 1, '$.extra is not a key the schema declares'],
  ])('refuses %s = %j, naming the field and what the schema wants, and changes nothing', async (key, value, message) => {
    const before = await readPluginConfig(t.sandbox.database.pool, { pluginId: 'prefs', tenant: acme });
    const refusal = await set({ tenant: acme }, key, value).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigWriteError);
    expect((refusal as ConfigWriteError).reason).toBe('invalid');
    expect((refusal as ConfigWriteError).message).toBe(`Refused: plugin prefs in tenant acme: ${message}. Nothing changed.`);
    expect(await readPluginConfig(t.sandbox.database.pool, { pluginId: 'prefs', tenant: acme })).toEqual(before);
  });

  it('refuses a plugin or tenant where it is not installed, and a level without a schema', async () => {
    const pool = t.sandbox.database.pool;
    await expect(setPluginConfig({ pool, pluginId: 'nowhere', key: 'x', value: 1, schema: schemas().global })).rejects.toMatchObject({ reason: 'not-installed', message: expect.stringMatching(/Plugin nowhere is not installed/) });
    await t.sql(`DELETE FROM sys_tenant_plugins WHERE plugin_id = 'prefs' AND tenant_id = $1`, [acme.id]);
    try {
      await expect(set({ tenant: acme }, 'pageSize', 5)).rejects.toMatchObject({ reason: 'not-installed', message: expect.stringMatching(/not installed in tenant acme: foundation-module plugins enable prefs --tenant acme/) });
    } finally {
      await t.sql(`INSERT INTO sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed) VALUES ($1, 'prefs', true, '1.0.0')`, [acme.id]);
    }
    await expect(setPluginConfig({ pool, pluginId: 'prefs', key: 'banner', value: 'x', schema: undefined }))
      .rejects.toMatchObject({ reason: 'no-schema', message: 'plugin prefs (global) takes no global configuration: its module.config.ts declares no globalConfigSchema.' });
  });

  it('loses no key when writers race: each write locks the row (SELECT … FOR UPDATE)', async () => {
    const permissive = compileConfigSchema({ type: 'object' }, 'configSchema');
    const pool = t.sandbox.database.pool;
    await Promise.all(Array.from({ length: 12 }, (_, i) => setPluginConfig({ pool, pluginId: 'prefs', tenant: acme, key: `k${i}`, value: i, schema: permissive })));
    const stored = await readPluginConfig(pool, { pluginId: 'prefs', tenant: acme });
    expect(Object.keys(stored!).filter((k) => k.startsWith('k')).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `k${i}`).sort());
    await t.sql(`UPDATE sys_tenant_plugins SET config = '{}' WHERE plugin_id = 'prefs' AND tenant_id = $1`, [acme.id]);
  });

  it('notifies running sandboxes through the registry triggers', async () => {
    const listener = await listenForChanges(t.database.url, `SELECT config FROM sys_plugins WHERE plugin_id = 'prefs'`);
    try {
      await set({}, 'banner', 'Notified');
      await listener.waitFor(1);
      expect(listener.received[0]).toMatchObject({ change: { kind: 'plugins', pluginId: 'prefs' }, seen: [{ config: { banner: 'Notified' } }] });
    } finally {
      await listener.close();
    }
  });

  it('reads configuration written around the schema (SQL) as it is, and warns once naming the field', async () => {
    await t.sql(`UPDATE sys_tenant_plugins SET config = '{"pageSize": "lots", "__proto__": {"polluted": true}}' WHERE plugin_id = 'prefs' AND tenant_id = $1`, [dev.id]);
    try {
      const config = pluginConfig({ pool: t.sandbox.database.pool, tenancy: t.sandbox.tenancy, pluginId: 'prefs', schemas: schemas(), logger: log.logger });
      expect(await config.getTenant(dev.id, 'pageSize')).toBe('lots');
      expect(await config.getTenant(dev.id, 'limits')).toEqual({ max: 3 });
      expect(await config.getTenant(dev.id, 'constructor')).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const warnings = log.lines().filter((line) => line.pluginId === 'prefs' && line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/\$\.pageSize must be integer/);
    } finally {
      await t.sql(`UPDATE sys_tenant_plugins SET config = '{}' WHERE plugin_id = 'prefs' AND tenant_id = $1`, [dev.id]);
    }
  });

  it.each([
    [''], ['__proto__'], ['a\0b'], ['page size'], ['../x'], ['x'.repeat(65)], ['1st'], ['ключ'], [42], [null], [undefined], [{}], [['pageSize']],
  ])('refuses the key %j at the call, reading and writing', async (key) => {
    const config = pluginConfig({ pool: t.sandbox.database.pool, tenancy: t.sandbox.tenancy, pluginId: 'prefs', schemas: schemas() });
    await expect(config.getGlobal(key as string)).rejects.toThrow(/A config key must/);
    await expect(config.getTenant(dev.id, key as string)).rejects.toThrow(/A config key must/);
    await expect(set({ tenant: dev }, key as string, 1)).rejects.toThrow(TypeError);
  });

  const deep = (depth: number): unknown => (depth === 0 ? 1 : { d: deep(depth - 1) });
  it.each([
    ['a NUL in a string', { banner: 'a\0b' }, /\$\.tags\.banner holds a NUL character/],
    ['a NUL in a key', { 'a\0': 1 }, /has a key holding a NUL character/],
    ['a __proto__ key', JSON.parse('{"__proto__": {"polluted": true}}'), /has the key "__proto__"/],
    ['nesting too deep', deep(MAX_CONFIG_DEPTH + 5), new RegExp(`nests deeper than ${MAX_CONFIG_DEPTH} levels`)],
    ['NaN', [Number.NaN], /\$\.tags\[0\] must be a finite number/],
    ['Infinity', Number.POSITIVE_INFINITY, /\$\.tags must be a finite number/],
    ['a function', [() => 1], /is not JSON \(function\)/],
    ['a bigint', [10n], /is not JSON \(bigint\)/],
    ['a date', [new Date(0)], /is not JSON \(object\)/],
    ['undefined in a list', [undefined], /is not JSON \(undefined\)/],
    ['a lone high surrogate', ['\ud800'], /\$\.tags\[0\] holds an unpaired UTF-16 surrogate \(\\ud800 at character 1\), which is no Unicode character: PostgreSQL jsonb can't store it/],
    ['a lone low surrogate', ['ok\udc00'], /\$\.tags\[0\] holds an unpaired UTF-16 surrogate \(\\udc00 at character 3\)/],
    ['a lone surrogate in a key', { ['\udbff']: 1 }, /\$\.tags has a key holding an unpaired UTF-16 surrogate \(\\udbff at character 1\)/],
  ])('refuses a value holding %s before any query', async (_what, value, message) => {
    const refusal = await set({ tenant: dev }, 'tags', value).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigWriteError);
    expect((refusal as Error).message).toMatch(message);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a configuration over 64 KiB, naming the key', async () => {
    const permissive = compileConfigSchema({ type: 'object' }, 'configSchema');
    await expect(setPluginConfig({ pool: t.sandbox.database.pool, pluginId: 'prefs', tenant: dev, key: 'huge', value: 'x'.repeat(70_000), schema: permissive }))
      .rejects.toThrow(/\$\.huge makes the configuration 700\d\d bytes long, over the 65536 bytes allowed/);
  });
});

describe('configuration schemas are checked when the module loads', () => {
  const load = (config: Record<string, unknown>) => () => checkPlugin({ default: { meta: { id: 'prefs', version: '1.0.0', api: '1.1' }, register() {} } }, config, '/modules/prefs');

  it('compiles both levels', () => {
    const plugin = load({ configSchema: { type: 'object', properties: { a: { type: 'integer', default: 1 } } }, globalConfigSchema: { type: 'object' } })();
    expect(Object.keys(plugin.configSchemas).sort()).toEqual(['global', 'tenant']);
    expect(plugin.configSchemas.tenant!.withDefaults({})).toEqual({ a: 1 });
  });

  it.each([
    [{ configSchema: 'object' }, /configSchema of plugin "prefs" must be a JSON schema object \(got string\)/],
    [{ configSchema: [] }, /must be a JSON schema object \(got an array\)/],
    [{ configSchema: null }, /must be a JSON schema object \(got null\)/],
    [{ configSchema: { type: 'string' } }, /configSchema of plugin "prefs" must describe an object of keys: give it "type": "object"/],
    [{ configSchema: { properties: {} } }, /give it "type": "object" \(got undefined\)/],
    [{ globalConfigSchema: { type: 'object', properties: { a: { type: 'integr' } } } }, /globalConfigSchema of plugin "prefs" is not a schema this host can use: .*type/],
    [{ configSchema: { type: 'object', properties: { a: { tpye: 'integer' } } } }, /is not a schema this host can use: strict mode: unknown keyword: "tpye"/],
    [{ configSchema: { type: 'object', properties: { a: { type: 'string', format: 'email' } } } }, /unknown format "email"/],
    [{ configSchema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } } }, /can't resolve reference/],
  ])('refuses %j, naming the field', (config, message) => {
    expect(load(config)).toThrow(message);
  });
});

describe('module.manifest.json carries the schemas where the code cannot load', () => {
  const manifest = (fields: Record<string, unknown>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-config-manifest-'));
    fs.writeFileSync(path.join(dir, 'module.manifest.json'), JSON.stringify({ id: 'prefs', version: '1.0.0', permissions: [], ...fields }));
    return () => {
      try {
        return readModuleManifest(dir);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
  };

  it('reads configSchema and globalConfigSchema', () => {
    const configSchema = { type: 'object', properties: { pageSize: { type: 'integer', default: 20 } } };
    expect(manifest({ configSchema, globalConfigSchema: { type: 'object' } })()).toMatchObject({ configSchema, globalConfigSchema: { type: 'object' } });
  });

  it.each([
    [{ configSchema: 'object' }, /configSchema: must be object/],
    [{ configSchema: { type: 'array' } }, /configSchema of plugin "prefs" must describe an object of keys/],
    [{ globalConfigSchema: { type: 'object', properties: { a: { tpye: 'x' } } } }, /globalConfigSchema of plugin "prefs" is not a schema this host can use/],
  ])('refuses %j', (fields, message) => {
    expect(manifest(fields)).toThrow(message);
  });
});
