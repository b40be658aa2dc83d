/**
 * Issue 25: a configuration nested thousands of levels deep, written with SQL around the command
 * (which refuses more than MAX_CONFIG_DEPTH), must not break the plugin that reads it nor the
 * command that shows it. Such a key reads as not set (its schema default), with one warning
 * naming the plugin, the tenant and the key; `plugins config … unset` removes it; a write of
 * another key is refused until then, naming the key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configValueProblems, MAX_CONFIG_DEPTH } from '../operations/registry/config-admin.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, capturedLogger, PREFS_SCHEMAS, removeCapabilityModules, type CapturedLogger } from './helpers/capability-modules.ts';
import { runPlugins } from './helpers/plugins-fixtures.ts';

afterAll(removeCapabilityModules);

const PREFS = `
const plugin: FoundationPlugin = {
  meta: { id: 'prefs', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.router.get('/config', async (req, res) => {
      const { tenantId } = ctx.auth(req);
      res.json({
        pageSize: await ctx.config.getTenant(tenantId, 'pageSize'), limits: await ctx.config.getTenant(tenantId, 'limits'),
        tags: (await ctx.config.getTenant(tenantId, 'tags')) ?? null, banner: await ctx.config.getGlobal('banner'),
      });
    });
  },
};
export default plugin;
`;

/** JSON text of `{"d": {"d": … 1 …}}`, `levels` objects deep. */
const nested = (levels: number) => `${'{"d":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe.each(databaseServers())('configuration stored too deep, on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let log: CapturedLogger;
  let dir: string;
  let dev: { id: string; code: string };
  beforeAll(async () => {
    log = capturedLogger();
    dir = capabilityModule('prefs', { plugin: PREFS, config: PREFS_SCHEMAS });
    t = await startTestSandbox({ moduleDirs: [dir], serverUrl: server.url, logger: log.logger });
    dev = await t.sandbox.tenancy.get('dev');
  });
  afterAll(() => t?.close());
  const storeTenant = (config: string) => t.sql(`UPDATE sys_tenant_plugins SET config = $2::jsonb WHERE plugin_id = 'prefs' AND tenant_id = $1`, [dev.id, config]);
  const cli = (...args: string[]) => runPlugins(['config', 'prefs', ...args, '--modules', dir, '--database-url', t.database.url]);
  const read = async () => (await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/prefs/config')).body as Record<string, unknown>;

  it.each([
    ['5,000 levels in a schema key', `{"pageSize": 50, "limits": ${nested(5_000)}}`, 'limits', { pageSize: 50, limits: { max: 3 }, tags: null }],
    ['5,000 levels of lists', `{"pageSize": 50, "tags": ${'['.repeat(5_000)}${']'.repeat(5_000)}}`, 'tags', { pageSize: 50, limits: { max: 3 }, tags: null }],
    ['5,000 levels in a key no schema declares', `{"pageSize": 7, "junk": ${nested(5_000)}}`, 'junk', { pageSize: 7, limits: { max: 3 }, tags: null }],
    // The warning is once per process and key: each row is a key of its own.
    ['one level over the limit the command enforces', `{"over": ${nested(MAX_CONFIG_DEPTH)}}`, 'over', { pageSize: 20, limits: { max: 3 }, tags: null }],
  ])('%s: the key reads as not set, with one warning naming plugin, tenant and key', async (_what, stored, key, expected) => {
    await storeTenant(stored);
    try {
      const before = log.lines().length;
      const answer = await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/prefs/config');
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toEqual({ ...expected, banner: 'Welcome' });
      expect(await read()).toEqual({ ...expected, banner: 'Welcome' }); // and again: the same, no second warning
      const warnings = log.lines().slice(before).filter((line) => line.level === 40 && String(line.msg).includes('deeper'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ pluginId: 'prefs', tenant: 'dev', keys: [key] });
      expect(warnings[0]!.msg).toBe(`the stored configuration of plugin prefs in tenant dev has $.${key} nesting deeper than ${MAX_CONFIG_DEPTH} levels (written around the CLI?): it reads as not set. foundation-module plugins config prefs --tenant dev unset ${key} removes it.`);
    } finally {
      await storeTenant('{}');
    }
  });

  it('leaves out exactly what a write refuses: a key at the limit reads as stored', async () => {
    expect(configValueProblems(JSON.parse(nested(MAX_CONFIG_DEPTH - 1)), ['edge'])).toEqual([]);
    expect(configValueProblems(JSON.parse(nested(MAX_CONFIG_DEPTH)), ['over'])).toHaveLength(1);
    await storeTenant(`{"limits": {"max": 4}, "edge": ${nested(MAX_CONFIG_DEPTH - 1)}}`);
    try {
      expect(await read()).toMatchObject({ limits: { max: 4 } });
      expect(log.lines().filter((line) => line.level === 40 && JSON.stringify(line.keys ?? []).includes('edge'))).toEqual([]);
    } finally {
      await storeTenant('{}');
    }
  });

  it('lets the deep key read as its default through the global configuration too', async () => {
    await t.sql(`UPDATE sys_plugins SET config = $1::jsonb WHERE plugin_id = 'prefs'`, [`{"banner": ${nested(5_000)}}`]);
    try {
      expect(await read()).toMatchObject({ banner: 'Welcome' });
      expect(log.lines().some((line) => line.level === 40 && line.tenant === null && /plugin prefs \(global\) has \$\.banner nesting deeper/.test(String(line.msg)))).toBe(true);
    } finally {
      await t.sql(`UPDATE sys_plugins SET config = '{}' WHERE plugin_id = 'prefs'`);
    }
  });

  it('plugins config list and get show it as not read, set of another key is refused naming it, unset removes it', async () => {
    await storeTenant(`{"pageSize": 50, "limits": ${nested(5_000)}}`);
    try {
      const list = await cli('--tenant', 'dev', 'list');
      expect(list.code, list.error).toBe(0);
      expect(list.lines.join('\n')).toMatch(/pageSize\s+50\s+set/);
      expect(list.lines).toContain(`Unreadable (written around this command?): $.limits nests deeper than ${MAX_CONFIG_DEPTH} levels: plugins read it as not set. foundation-module plugins config prefs --tenant dev unset limits removes it.`);
      const json = (await cli('--tenant', 'dev', 'list', '--json')).json();
      expect(json.find((e) => e.key === 'limits')).toMatchObject({ value: { max: 3 }, source: 'default' });
      expect(json.at(-1)).toMatchObject({ event: 'summary', unreadable: [{ path: '$.limits', message: `nests deeper than ${MAX_CONFIG_DEPTH} levels` }] });

      expect(await cli('--tenant', 'dev', 'get', 'limits')).toMatchObject({ code: 0, lines: ['{"max":3} (default)', expect.stringMatching(/^Unreadable .*\$\.limits nests deeper/)] });
      expect(await cli('--tenant', 'dev', 'get', 'pageSize')).toMatchObject({ code: 0, lines: ['50'] });

      const refused = await cli('--tenant', 'dev', 'set', 'pageSize', '60');
      expect(refused).toMatchObject({ code: 1, error: `Refused: plugin prefs in tenant dev: the stored $.limits nests deeper than ${MAX_CONFIG_DEPTH} levels (written around this command): foundation-module plugins config prefs --tenant dev unset limits removes it. Nothing changed.` });
      expect((await t.sql<{ n: number }>(`SELECT (config->>'pageSize')::int AS n FROM sys_tenant_plugins WHERE plugin_id = 'prefs' AND tenant_id = $1`, [dev.id]))[0]!.n).toBe(50);

      const unset = await cli('--tenant', 'dev', 'unset', 'limits');
      expect(unset.code, unset.error).toBe(0);
      expect(unset.lines[0]).toMatch(/^Plugin prefs in tenant dev: limits removed \(was a value nested deeper than 32 levels\); it reads as its default \{"max":3\}\.$/);
      expect(await cli('--tenant', 'dev', 'set', 'pageSize', '60')).toMatchObject({ code: 0 });
      expect(await read()).toMatchObject({ pageSize: 60, limits: { max: 3 } });
    } finally {
      await storeTenant('{}');
    }
  });

  it('replaces the deep key when it is the one set', async () => {
    await storeTenant(`{"limits": ${nested(5_000)}}`);
    try {
      expect(await cli('--tenant', 'dev', 'set', 'limits', '{"max": 5}')).toMatchObject({ code: 0 });
      expect(await read()).toMatchObject({ limits: { max: 5 } });
    } finally {
      await storeTenant('{}');
    }
  });
});
