/**
 * `foundation-module plugins`: every command line it must refuse, refused before any database is
 * opened (the URL given points nowhere), with exit 2 and a message naming the problem; then the
 * refusals only the database can make (exit 1), and the real program's exit codes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { catalogSnapshot, migrationDb } from './helpers/migration-fixtures.ts';
import { moduleWithMeta, runPlugins } from './helpers/plugins-fixtures.ts';

const CLI = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const NOWHERE = ['--database-url', 'postgres://nobody@127.0.0.1:1/none'];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-plugins-args-'));
const used = path.join(scratch, 'used');
fs.mkdirSync(used);
fs.writeFileSync(path.join(used, 'old.json'), '[]');
const aFile = path.join(scratch, 'file.txt');
fs.writeFileSync(aFile, '');
const dirs: string[] = [scratch];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('foundation-module plugins: arguments refused before the database', () => {
  it.each([
    [['frobnicate'], /Unknown plugins command "frobnicate"/],
    [['list', '--frobnicate'], /Unknown option --frobnicate/],
    [['enable', 'items', '-t', 'acme'], /Unknown option -t/],
    [['list', 'items'], /plugins list takes no argument/],
    [['enable'], /plugins enable needs a plugin id/],
    [['disable', 'items', 'warehouse'], /takes one plugin id \(got "items", "warehouse"\)/],
    [['enable', '../etc'], /"\.\.\/etc" is not a plugin id/],
    [['enable', 'Items'], /"Items" is not a plugin id/],
    [['disable', 'sys-audit'], /is not a plugin id: it is reserved/],
    [['enable', "items'; DROP TABLE sys_plugins; --"], /is not a plugin id/],
    [['enable', 'items', '--tenant'], /--tenant needs a value/],
    [['enable', 'items', '--tenant', ''], /--tenant needs a value/],
    [['enable', 'items', '--no-tenant'], /--tenant needs a value/],
    [['enable', 'items', '--tenant', "acme'; DROP TABLE sys_tenant; --"], /--tenant .* is not a tenant code/],
    [['enable', 'items', '--tenant', 'ACME'], /is not a tenant code/],
    [['enable', 'items', '--tenant', '../acme'], /is not a tenant code/],
    [['disable', 'items', '--tenant', 'abcdef01-2345-6789-abcd-ef0123456789'], /is not a tenant code: it must not look like a uuid/],
    [['enable', 'items', '--tenant', 'acme', '--tenant', 'acme'], /--tenant acme is given twice/],
    [['enable', 'items', '--tenant', 'acme', '--all'], /Give --tenant or --all, not both/],
    [['enable', 'items', '--all', '--all'], /--all is given 2 times/],
    [['enable', 'items', '--json=yes'], /takes one plugin id/],
    [['disable', 'items', '--modules', 'examples/items'], /--modules does not go with plugins disable/],
    [['list', '--all'], /--all does not go with plugins list/],
    [['enable', 'items', '--drop-data'], /--drop-data does not go with plugins enable/],
    [['enable', 'items', '--export', used], /--export does not go with plugins enable/],
    [['uninstall', 'items'], /plugins uninstall needs the tenants: --tenant <code> \(repeatable\) or --all/],
    [['uninstall', 'items', '--all', '--drop-data'], /confirm with --confirm items\.$/],
    [['uninstall', 'items', '--all', '--drop-data', '--confirm', 'Items'], /confirm with --confirm items \(got "Items"\)/],
    [['uninstall', 'items', '--all', '--drop-data', '--confirm', 'items '], /\(got "items "\)/],
    [['uninstall', 'items', '--all', '--drop-data', '--confirm'], /--confirm needs a value/],
    [['uninstall', 'items', '--all', '--drop-data', '--confirm', 'items', '--confirm', 'items'], /--confirm is given 2 times/],
    [['uninstall', 'items', '--all', '--confirm', 'items'], /--confirm goes with --drop-data only/],
    [['uninstall', 'items', '--all', '--export'], /--export needs a value/],
    [['uninstall', 'items', '--all', '--export', used], /is not empty/],
    [['uninstall', 'items', '--all', '--export', aFile], /exists and is not a folder/],
    [['list', '--database-url', 'postgres://a/b'], /--database-url is given 2 times/],
    [['list', '--modules', '/nonexistent/module'], /is not a module directory/],
  ])('plugins %j exits 2 naming the problem', async (args, message) => {
    const run = await runPlugins([...args, ...NOWHERE], { cwd: REPO_ROOT });
    expect(run.error).toMatch(message);
    expect(run.code).toBe(2);
  });

  it('prints its usage: exit 0 with --help, 2 without a command', async () => {
    expect(await runPlugins(['--help'])).toMatchObject({ code: 0, lines: [expect.stringMatching(/^Usage: foundation-module plugins <list\|enable\|disable\|uninstall>/)] });
    expect((await runPlugins([])).code).toBe(2);
  });

  it('exits 2 from the real program, with one line on stderr', () => {
    const run = spawnSync(process.execPath, [CLI, 'plugins', 'enable', 'items', '--tenant', 'acme', '--all'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('foundation-module: Give --tenant or --all, not both.\n');
  });
});

describe.each(databaseServers())('foundation-module plugins: refusals the database decides, on $name PostgreSQL', (server) => {
  it('exits 1 for an unknown tenant (naming each), a plugin not installed, a missing module folder; nothing written', async (context) => {
    const db = await migrationDb(server.url, 2);
    context.onTestFinished(() => db.close());
    const dir = moduleWithMeta('omega', { 'tenant/001_init.sql': 'CREATE TABLE omega_t (n int);\n' });
    dirs.push(dir);
    const url = ['--database-url', db.database.url];
    const before = await catalogSnapshot(db.pool);
    const cases: [string[], RegExp][] = [
      [['enable', 'omega', '--modules', dir, '--tenant', 't0001', '--tenant', 'nope', '--tenant', 'gone'], /No tenant has the code "nope", "gone": nothing done/],
      [['enable', 'other', '--modules', dir], /No readable module folder has the plugin id "other": nothing done/],
      [['enable', 'omega', '--tenant', 't0001'], /No module in .*: pass the plugin's module folder with --modules <dir>\. Nothing done\./],
      [['disable', 'omega'], /Plugin "omega" is not installed \(no row in sys_plugins\): nothing to disable/],
      [['disable', 'omega', '--tenant', 't0001'], /Plugin "omega" is not installed/],
      [['uninstall', 'omega', '--all'], /Plugin "omega" is not installed \(no row in sys_plugins\): nothing to uninstall/],
      [['uninstall', 'omega', '--tenant', 'nope'], /No tenant has the code "nope"/],
    ];
    for (const [args, message] of cases) {
      const run = await runPlugins([...args, ...url], { cwd: scratch });
      expect(run.error, args.join(' ')).toMatch(message);
      expect(run.code, args.join(' ')).toBe(1);
    }
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});
