/**
 * Issue 25: the operator commands on a database that has never seen the kit (no system tables:
 * a fresh database given with --database-url). Each answers what is true in one line, with no
 * stack: reading commands say there is nothing (exit 0), `migrate down` that there is nothing to
 * undo (0), `plugins config` that the tables come first (1); none creates a table.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, databaseServers, type ThrowawayDatabase } from '../testing/databases.ts';
import { capabilityModule, PREFS_SCHEMAS, removeCapabilityModules } from './helpers/capability-modules.ts';
import { REPO_ROOT } from './helpers/examples.ts';

afterAll(removeCapabilityModules);

const CLI = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const prefs = capabilityModule('prefs', {
  plugin: `export default { meta: { id: 'prefs', version: '1.0.0', api: '1.1' }, async register() {} } satisfies FoundationPlugin;\nexport type Unused = PluginContext;`,
  config: PREFS_SCHEMAS,
  migrations: { 'tenant/001_init.sql': 'CREATE TABLE prefs_t (n int);\n', 'tenant/001_init.down.sql': 'DROP TABLE prefs_t;\n' },
});
const NO_TABLES = /^foundation-module: This database has no foundation-module system tables yet \(public\.sys_plugins, public\.sys_tenant_plugins\): run `foundation-module migrate up` first, which creates them\.$/m;

describe.each(databaseServers())('operator commands on an empty database on $name PostgreSQL', (server) => {
  let database: ThrowawayDatabase;
  beforeAll(async () => {
    database = await createThrowawayDatabase(server.url);
  });
  afterAll(() => database?.drop());

  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--database-url', database.url], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });

  it.each([
    // [command line, exit code, what it says (stdout for 0, stderr otherwise)]
    [['migrate', 'down', prefs], 0, /^Nothing to undo: this database has no foundation-module system tables, so no migration was ever applied here\.$/m],
    [['migrate', 'down', prefs, '--plugin', 'prefs', '--tenant', 'dev'], 0, /^Nothing to undo: this database has no foundation-module system tables/],
    [['migrate', 'down', prefs, '--json'], 0, /^\{"event":"summary","direction":"down","exitCode":0,"applied":0,"systemTables":false\}$/m],
    [['migrate', 'down', prefs, '--dry-run'], 0, /^Nothing to undo: this database has no foundation-module system tables/],
    [['migrate', 'down', prefs, '--to', '0'], 0, /Nothing to (do|undo)/],
    [['migrate', 'status', prefs], 0, /0 tenant\(s\)/],
    [['migrate', 'validate', prefs], 0, /Valid:/],
    [['migrate', 'up', prefs, '--dry-run'], 0, /^Dry run: nothing written\./],
    [['plugins', 'list', '--modules', prefs], 0, /^\s*prefs\s+-/m],
    [['plugins', 'config', 'prefs', 'list', '--modules', prefs], 1, NO_TABLES],
    [['plugins', 'config', 'prefs', 'get', 'banner', '--modules', prefs], 1, NO_TABLES],
    [['plugins', 'config', 'prefs', 'set', 'banner', '"Hi"', '--modules', prefs], 1, NO_TABLES],
    [['plugins', 'config', 'prefs', 'unset', 'banner', '--modules', prefs], 1, NO_TABLES],
    [['plugins', 'config', 'prefs', '--tenant', 'dev', 'get', 'pageSize', '--modules', prefs], 1, NO_TABLES],
    [['plugins', 'config', 'prefs', 'list', '--json', '--modules', prefs], 1, NO_TABLES],
    [['plugins', 'disable', 'prefs'], 1, /Plugin "prefs" is not installed/],
    [['tenants', 'list'], 0, /^No tenants\./],
    [['tenants', 'drop', 'dev', '--confirm', 'dev'], 1, /There is no tenant "dev" \(this database has no foundation-module system tables\): nothing was dropped\./],
  ])('%j exits %i, says so in one line, and creates no table', async (args, exitCode, message) => {
    const answer = run(args as string[]);
    expect(answer.status, `${answer.stdout}\n${answer.stderr}`).toBe(exitCode);
    const said = (exitCode === 0 ? answer.stdout : answer.stderr).trim();
    expect(said).toMatch(message);
    if (exitCode !== 0) expect(said.split('\n')).toHaveLength(1);
    expect(answer.stderr).not.toMatch(/\n\s+at /); // no stack
    const probe = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: database.url }));
    await probe.connect();
    try {
      expect((await probe.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows).toEqual([]);
    } finally {
      await probe.end();
    }
  });
});
