/**
 * Issue 17: `foundation-module plugins config <id> [--tenant <code>] list|get|set|unset`. Values
 * are checked against the module's schema read from its catalog (its code in a child process);
 * exit 0 done, 1 refused (invalid value naming the field, unknown tenant, not installed, no
 * schema), 2 usage (before any database: bad JSON, bad key, unknown option). Hostile values table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers } from '../testing/databases.ts';
import { capabilityModule, PREFS_SCHEMAS, removeCapabilityModules } from './helpers/capability-modules.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { migrationDb, type MigrationDb } from './helpers/migration-fixtures.ts';
import { runPlugins } from './helpers/plugins-fixtures.ts';

afterAll(removeCapabilityModules);

const NOWHERE = ['--database-url', 'postgres://nobody@127.0.0.1:1/none'];
const PLUGIN = `export default { meta: { id: 'prefs', version: '1.0.0', api: '1.1' }, async register() {} } satisfies FoundationPlugin;\nexport type Unused = PluginContext;`;
const prefs = capabilityModule('prefs', { plugin: PLUGIN, config: PREFS_SCHEMAS, migrations: { 'tenant/001_init.sql': 'CREATE TABLE prefs_t (n int);\n' } });
const bare = capabilityModule('bare', { plugin: PLUGIN.replace("id: 'prefs'", "id: 'bare'"), migrations: { 'tenant/001_init.sql': 'CREATE TABLE bare_t (n int);\n' } });
const config = (...args: string[]) => runPlugins(['config', ...args, '--modules', prefs, '--modules', bare]);

describe('plugins config: command lines refused before any database (exit 2)', () => {
  it.each([
    [['prefs', 'list', '--frobnicate'], /Unknown option --frobnicate/],
    [['prefs', 'list', '-t', 'acme'], /Unknown option -t/],
    [['prefs', 'list', '--no-tenant'], /Unknown option --no-tenant/],
    [['prefs', 'list', '--json=yes'], /--json takes no value/],
    [['prefs', 'list', '--json', '--json'], /--json is given twice/],
    [['prefs', 'list', '--tenant'], /--tenant needs a value/],
    [['prefs', 'list', '--tenant', ''], /--tenant needs a value/],
    [['prefs', 'list', '--tenant', '--json'], /--tenant needs a value/],
    [['prefs', 'list', '--tenant', 'a', '--tenant', 'b'], /--tenant is given 2 times/],
    [['prefs', 'list', '--tenant', "acme'; DROP TABLE sys_tenant; --"], /is not a tenant code/],
    [['prefs', 'list', '--tenant', 'ACME'], /is not a tenant code/],
    [['prefs'], /needs what to do: list, get <key>, set <key> <json> or unset <key>/],
    [['prefs', 'delete', 'x'], /Unknown plugins config action "delete"/],
    [['prefs', 'list', 'x'], /list takes no argument \(got "x"\)/],
    [['prefs', 'get'], /get <key> takes 1 argument\(s\) \(got none\)/],
    [['prefs', 'set', 'pageSize'], /set <key> <json> takes 2 argument\(s\)/],
    [['prefs', 'set', 'pageSize', '50', '60'], /quote the JSON value as one argument/],
    [['../etc', 'list'], /"\.\.\/etc" is not a plugin id/],
    [['Prefs', 'list'], /is not a plugin id/],
    [['prefs', 'get', '__proto__'], /"__proto__" is not a configuration key/],
    [['prefs', 'get', 'page size'], /is not a configuration key/],
    [['prefs', 'get', 'a\0b'], /is not a configuration key/],
    [['prefs', 'get', 'x'.repeat(65)], /must be 1–64 characters long/],
    [['prefs', 'set', 'pageSize', 'fifty'], /The value of pageSize is not JSON \(.*\)\. Write JSON: 50, true, null, '"blue"'/],
    [['prefs', 'set', 'colour', 'red'], /is not JSON/],
    [['prefs', 'set', 'pageSize', ''], /is not JSON/],
    [['prefs', 'set', 'pageSize', '{"a": 1'], /is not JSON/],
    [['prefs', 'set', 'pageSize', 'NaN'], /is not JSON/],
    [['prefs', 'set', 'pageSize', "{'a': 1}"], /is not JSON/],
    [['prefs', 'set', 'pageSize', '1 2'], /is not JSON/],
  ])('refuses %j', async (args, message) => {
    const run = await config(...args, ...NOWHERE);
    expect(run.error).toMatch(message);
    expect(run.code).toBe(2);
  });

  it('prints its help with --help (0), and without an action (2); `plugins --json config` says to put config first', async () => {
    expect((await runPlugins(['config', '--help'])).code).toBe(0);
    expect((await runPlugins(['config', '--help'])).lines.join('\n')).toMatch(/plugins config <id> \[--tenant <code>\] <list\|get\|set\|unset>/);
    expect((await runPlugins(['config'])).code).toBe(2);
    const misplaced = await runPlugins(['--json', 'config', 'prefs', 'list']);
    expect(misplaced).toMatchObject({ code: 2, error: expect.stringMatching(/Put plugins config first/) });
  });
});

describe('plugins config: values refused before any database (exit 1)', () => {
  const deep = `${'['.repeat(40)}1${']'.repeat(40)}`;
  it.each([
    ['a NUL in a string', '"a\\u0000b"', /\$\.tags holds a NUL character/],
    ['a NUL in a key', '{"a\\u0000": 1}', /has a key holding a NUL character/],
    ['a __proto__ key', '{"__proto__": {"polluted": true}}', /has the key "__proto__"/],
    ['nesting 40 deep', deep, /nests deeper than 32 levels/],
    ['nesting 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, /nests deeper than 32 levels/],
    ['a huge value', JSON.stringify('x'.repeat(70_000)), /is 700\d\d bytes long, over the 65536 bytes/],
    // JSON may escape half a UTF-16 pair; jsonb refuses it (no Unicode character is half a pair).
    ['a lone high surrogate', '"\\ud800"', /\$\.tags holds an unpaired UTF-16 surrogate \(\\ud800 at character 1\), which is no Unicode character: PostgreSQL jsonb can't store it/],
    ['a lone low surrogate in a list', '["ok", "a\\udfffb"]', /\$\.tags\[1\] holds an unpaired UTF-16 surrogate \(\\udfff at character 2\)/],
    ['a reversed pair', '"\\ude00\\ud83d"', /\$\.tags holds an unpaired UTF-16 surrogate \(\\ude00 at character 1\)/],
    ['two high surrogates', '"\\ud83d\\ud83d\\ude00"', /\$\.tags holds an unpaired UTF-16 surrogate \(\\ud83d at character 1\)/],
    ['a lone surrogate in a key', '{"k\\ud800": 1}', /\$\.tags has a key holding an unpaired UTF-16 surrogate \(\\ud800 at character 2\)/],
  ])('refuses %s', async (_what, value, message) => {
    const run = await config('prefs', 'set', 'tags', value, '--tenant', 'acme', ...NOWHERE);
    expect(run.error).toMatch(message);
    expect(run.code).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a write where the module declares no schema for that level, or no module folder is found', async () => {
    expect(await config('bare', 'set', 'x', '1', '--tenant', 'acme', ...NOWHERE)).toMatchObject({ code: 1, error: expect.stringMatching(/Plugin bare takes no tenant configuration: its module.config.ts declares no configSchema\. Nothing changed\./) });
    expect(await runPlugins(['config', 'nowhere', 'set', 'x', '1', '--modules', prefs, ...NOWHERE])).toMatchObject({ code: 1, error: expect.stringMatching(/No module folder of plugin nowhere found \(looked in 1\).*--modules/) });
  });
});

describe.each(databaseServers())('plugins config on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let url: string[];
  beforeAll(async () => {
    db = await migrationDb(server.url, 2);
    url = ['--database-url', db.database.url];
    for (const [id, dir] of [['prefs', prefs], ['bare', bare]] as const) {
      const enabled = await runPlugins(['enable', id, '--all', '--modules', dir, ...url]);
      expect(enabled.code, enabled.error).toBe(0);
    }
  });
  afterAll(() => db?.close());
  const json = async (...args: string[]) => {
    const run = await config(...args, ...url, '--json');
    expect(run.code, run.error).toBe(0);
    return run.json();
  };

  it('sets, gets, lists and unsets, per tenant and globally, with schema defaults', async () => {
    expect(await json('prefs', 'get', 'pageSize', '--tenant', 't0001')).toEqual([{ event: 'config', plugin: 'prefs', tenant: 't0001', key: 'pageSize', value: 20, source: 'default' }]);
    expect(await json('prefs', 'set', 'pageSize', '50', '--tenant', 't0001')).toEqual([{ event: 'config', command: 'set', plugin: 'prefs', tenant: 't0001', key: 'pageSize', value: 50, previous: null }]);
    expect(await json('prefs', '--tenant', 't0001', 'set', 'limits', '{"max": -1}')).toMatchObject([{ value: { max: -1 } }]);
    expect(await json('prefs', 'set', 'banner', '"Hello"')).toMatchObject([{ tenant: null, key: 'banner', value: 'Hello' }]);
    const listed = await json('prefs', 'list', '--tenant', 't0001');
    expect(listed.filter((e) => e.event === 'config').map((e) => [e.key, e.value, e.source])).toEqual([
      ['colour', null, 'none'], ['limits', { max: -1 }, 'set'], ['pageSize', 50, 'set'], ['tags', null, 'none'],
    ]);
    expect(listed.at(-1)).toEqual({ event: 'summary', command: 'list', plugin: 'prefs', tenant: 't0001', keys: 4, problems: [] });
    expect(await db.sql(`SELECT t.code, tp.config FROM sys_tenant_plugins tp JOIN sys_tenant t ON t.id = tp.tenant_id WHERE plugin_id = 'prefs' ORDER BY 1`))
      .toEqual([{ code: 't0001', config: { pageSize: 50, limits: { max: -1 } } }, { code: 't0002', config: {} }]);
    expect(await json('prefs', 'unset', 'pageSize', '--tenant', 't0001')).toEqual([{ event: 'config', command: 'unset', plugin: 'prefs', tenant: 't0001', key: 'pageSize', value: null, previous: 50, default: 20 }]);

    const human = await config('prefs', 'get', 'limits', '--tenant', 't0001', ...url);
    expect(human.lines).toEqual(['{"max":-1}']);
    const table = await config('prefs', 'list', ...url);
    expect(table.lines.join('\n')).toMatch(/Plugin prefs \(global\): 1 key\(s\)\.\n.*key.*value.*source\n.*banner.*"Hello".*set/s);
  });

  it('refuses an invalid value naming the field and what the schema wants (exit 1), and changes nothing', async () => {
    const before = await db.sql(`SELECT config FROM sys_tenant_plugins WHERE plugin_id = 'prefs'`);
    for (const [key, value, message] of [
      ['pageSize', '"50"', '$.pageSize must be integer'], ['pageSize', '0', '$.pageSize must be >= 1'],
      ['colour', '"green"', '$.colour must be equal to one of the allowed values: "red", "blue"'],
      ['limits', '{"max": 1, "min": 0}', '$.limits.min is not a key the schema declares'], ['nope', '1', '$.nope is not a key the schema declares'],
    ]) {
      const run = await config('prefs', 'set', key!, value!, '--tenant', 't0002', ...url);
      expect(run.code).toBe(1);
      expect(run.error).toBe(`Refused: plugin prefs in tenant t0002: ${message}. Nothing changed.`);
    }
    expect(await db.sql(`SELECT config FROM sys_tenant_plugins WHERE plugin_id = 'prefs'`)).toEqual(before);
  });

  it('refuses an unknown tenant, a plugin not installed there, and a global write without globalConfigSchema (exit 1)', async () => {
    expect(await config('prefs', 'set', 'pageSize', '5', '--tenant', 'nowhere', ...url)).toMatchObject({ code: 1, error: expect.stringMatching(/No tenant has the code "nowhere"/) });
    await db.sql(`DELETE FROM sys_tenant_plugins WHERE plugin_id = 'prefs' AND tenant_id = (SELECT id FROM sys_tenant WHERE code = 't0002')`);
    expect(await config('prefs', 'set', 'pageSize', '5', '--tenant', 't0002', ...url)).toMatchObject({ code: 1, error: expect.stringMatching(/Plugin prefs is not installed in tenant t0002/) });
    expect(await config('prefs', 'get', 'pageSize', '--tenant', 't0002', ...url)).toMatchObject({ code: 1, error: expect.stringMatching(/not installed in tenant t0002/) });
    expect(await config('bare', 'set', 'x', '1', ...url)).toMatchObject({ code: 1, error: expect.stringMatching(/Plugin bare takes no global configuration: its module.config.ts declares no globalConfigSchema/) });
    // Reading needs no schema: without defaults, and says so.
    const read = await config('bare', 'get', 'x', ...url);
    expect(read.code).toBe(0);
    expect(read.lines).toEqual(['(not set)', expect.stringMatching(/^Note: Plugin bare takes no global configuration.*Defaults are not shown\.$/)]);
  });

  it.each([
    ['a lone high surrogate', 'banner', '"\\ud800"', [], '$.banner holds an unpaired UTF-16 surrogate (\\ud800 at character 1)'],
    ['a lone low surrogate', 'banner', '"x\\udc00"', [], '$.banner holds an unpaired UTF-16 surrogate (\\udc00 at character 2)'],
    ['a lone surrogate in a tenant list', 'tags', '["\\udbff"]', ['--tenant', 't0001'], '$.tags[0] holds an unpaired UTF-16 surrogate (\\udbff at character 1)'],
    ['a NUL in a tenant list', 'tags', '["a\\u0000"]', ['--tenant', 't0001'], '$.tags[0] holds a NUL character'],
  ])('refuses %s on the database with a message naming the field (exit 1), and writes nothing', async (_what, key, value, tenant, message) => {
    const before = await db.sql(`SELECT plugin_id, config FROM sys_plugins UNION ALL SELECT plugin_id, config FROM sys_tenant_plugins ORDER BY 1, 2`);
    const run = await config('prefs', 'set', key, value, ...tenant, ...url);
    expect(run.code).toBe(1);
    expect(run.error).toContain(message);
    expect(run.error).toMatch(/PostgreSQL jsonb can't store( it)?\. Nothing changed\.$/);
    expect(await db.sql(`SELECT plugin_id, config FROM sys_plugins UNION ALL SELECT plugin_id, config FROM sys_tenant_plugins ORDER BY 1, 2`)).toEqual(before);
    // As an operator sees it: one line, no stack.
    const cli = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'foundation-module.js'), 'plugins', 'config', 'prefs', 'set', key, value, ...tenant, '--modules', prefs, ...url], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(cli.status).toBe(1);
    expect(cli.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
  });

  it('runs as the real program, with its exit codes', () => {
    const cli = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'plugins', 'config', ...args, '--modules', prefs, ...url], { encoding: 'utf8', cwd: REPO_ROOT });
    const ok = run('prefs', 'set', 'colour', '"red"', '--tenant', 't0001');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Plugin prefs in tenant t0001: colour = "red" \(was not set\)\./);
    expect(run('prefs', 'set', 'colour', '"green"', '--tenant', 't0001').status).toBe(1);
    expect(run('prefs', 'set', 'colour', 'green', '--tenant', 't0001').status).toBe(2);
    expect(fs.existsSync(prefs)).toBe(true);
  });
});
