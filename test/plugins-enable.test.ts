/**
 * `foundation-module plugins enable|disable|list` on both servers: what each writes to the
 * registries and the schemas (and what it leaves alone), the upgrade order, the refusal of a
 * module whose contract major the host does not implement, and the NOTIFY of every change.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { pluginEnablement } from '../operations/registry/enablement.ts';
import { createThrowawayDatabase, databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { addTenants, catalogSnapshot, migrationDb, writeMigrations, type MigrationDb } from './helpers/migration-fixtures.ts';
import { KAPPA_FILES, listenForChanges, moduleWithMeta, registryProblems, registryReader, runPlugins, setModuleVersion } from './helpers/plugins-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const scratchModule = (id: string, files: Record<string, string>, meta?: { api?: string; version?: string }) => {
  const dir = moduleWithMeta(id, files, meta);
  dirs.push(dir);
  return dir;
};
const KAPPA_TENANT_FILES = ['001_init.sql', '002_notes.sql'];

describe.each(databaseServers())('foundation-module plugins enable|disable|list on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let dir: string;
  let read: ReturnType<typeof registryReader>;
  /** The command as an operator runs it here: --json, this database, and (where it applies) the module folder. */
  const plugins = (sub: string, ...rest: string[]) =>
    runPlugins([sub, ...rest, ...(sub === 'disable' ? [] : ['--modules', dir]), '--database-url', db.database.url, '--json']);

  beforeEach(async (context) => {
    dir = scratchModule('kappa', KAPPA_FILES);
    db = await migrationDb(server.url, 3);
    read = registryReader(db.pool, 'kappa');
    context.onTestFinished(() => db.close());
  });

  it('enables globally: public migrations and the sys_plugins row, no tenant touched', async () => {
    const run = await plugins('enable', 'kappa');
    expect(run.code, run.error).toBe(0);
    expect(run.json().at(-1)).toMatchObject({ event: 'summary', scope: 'global', newlyInstalled: true, enabledGlobal: true, migrationsApplied: 1, exitCode: 0 });
    // Tenants are behind (they don't have its tables): the plugin is not at 1.0.0 everywhere yet.
    expect(await read.plugin()).toEqual({ enabled_global: true, version_installed: '0.0.0' });
    expect(await read.ledger()).toEqual([{ target: 'public', name: '001_settings.sql' }]);
    expect(await read.tenants()).toEqual([]);
    expect(await read.tables()).toEqual(['public.kappa_settings']);
    expect(await registryProblems(db.pool, [{ id: 'kappa', version: '1.0.0', tenantFiles: KAPPA_TENANT_FILES }])).toEqual([]);
  });

  it('enables for tenants: their migrations first, rows at the module version, nothing for other tenants; the kill switch wins', async () => {
    const run = await plugins('enable', 'kappa', '--tenant', 't0001', '--tenant', 't0003');
    expect(run.code, run.error).toBe(0);
    expect(run.json().filter((e) => e.event === 'tenant')).toEqual([
      { event: 'tenant', plugin: 'kappa', tenant: 't0001', state: 'enabled', version: '1.0.0' },
      { event: 'tenant', plugin: 'kappa', tenant: 't0003', state: 'enabled', version: '1.0.0' },
    ]);
    expect(await read.tenants()).toEqual([
      { code: 't0001', enabled: true, version_installed: '1.0.0' },
      { code: 't0003', enabled: true, version_installed: '1.0.0' },
    ]);
    expect(await read.ledger()).toEqual([
      { target: 'public', name: '001_settings.sql' },
      { target: 't0001', name: '001_init.sql' }, { target: 't0001', name: '002_notes.sql' },
      { target: 't0003', name: '001_init.sql' }, { target: 't0003', name: '002_notes.sql' },
    ]);
    expect(await read.tables()).toEqual(['public.kappa_settings', 'tenant_t0001.kappa_items', 'tenant_t0001.kappa_notes', 'tenant_t0003.kappa_items', 'tenant_t0003.kappa_notes']);
    // An operator's first install leaves the kill switch pulled: the tenant rows alone turn nothing on.
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '0.0.0' });
    const t1 = await read.tenantId('t0001');
    expect(await pluginEnablement(db.pool, 'kappa', t1)).toEqual({ global: false, tenant: true });

    const again = await runPlugins(['enable', 'kappa', '--tenant', 't0001', '--modules', dir, '--database-url', db.database.url]);
    expect(again.code).toBe(0);
    expect(again.lines.join('\n')).toMatch(/t0001 +already-enabled +1\.0\.0/);
    expect(again.lines.join('\n')).toContain('It stays off everywhere while it is switched off globally (the kill switch wins): foundation-module plugins enable kappa switches it on.');

    expect((await plugins('enable', 'kappa')).code).toBe(0);
    expect(await pluginEnablement(db.pool, 'kappa', t1)).toEqual({ global: true, tenant: true });
    expect(await pluginEnablement(db.pool, 'kappa', await read.tenantId('t0002'))).toEqual({ global: true, tenant: false });
    expect(await registryProblems(db.pool, [{ id: 'kappa', version: '1.0.0', tenantFiles: KAPPA_TENANT_FILES }])).toEqual([]);
  });

  it('enables --all, then upgrades: public, then tenant migrations, then the versions flip', async () => {
    expect((await plugins('enable', 'kappa', '--all')).code).toBe(0);
    expect((await read.tenants()).map((r) => r.version_installed)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '1.0.0' });

    writeMigrations(dir, { 'public/002_more.sql': 'ALTER TABLE kappa_settings ADD COLUMN note text;\n', 'tenant/003_tags.sql': 'CREATE TABLE kappa_tags (tag text);\n' });
    setModuleVersion(dir, '1.1.0');
    // A canary: one tenant at 1.1.0, the plugin itself stays at 1.0.0 until every tenant is.
    expect((await plugins('enable', 'kappa', '--tenant', 't0002')).code).toBe(0);
    expect(await read.tenants()).toEqual([
      { code: 't0001', enabled: true, version_installed: '1.0.0' },
      { code: 't0002', enabled: true, version_installed: '1.1.0' },
      { code: 't0003', enabled: true, version_installed: '1.0.0' },
    ]);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '1.0.0' });
    expect((await read.ledger()).filter((r) => r.name === '003_tags.sql' || r.name === '002_more.sql')).toEqual([
      { target: 'public', name: '002_more.sql' }, { target: 't0002', name: '003_tags.sql' },
    ]);

    // The older folder again, mid-canary: one tenant is at 1.1.0 already, so it is refused.
    setModuleVersion(dir, '1.0.0');
    const back = await plugins('enable', 'kappa', '--tenant', 't0001');
    expect(back.code).toBe(1);
    expect(back.error).toMatch(/installed at 1\.1\.0, newer than the module folder's 1\.0\.0/);
    setModuleVersion(dir, '1.1.0');

    const all = await plugins('enable', 'kappa', '--all');
    expect(all.code, all.error).toBe(0);
    expect(all.json().filter((e) => e.event === 'tenant').map((e) => e.state)).toEqual(['enabled', 'already-enabled', 'enabled']);
    expect((await read.tenants()).map((r) => r.version_installed)).toEqual(['1.1.0', '1.1.0', '1.1.0']);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '1.1.0' });
    expect(await registryProblems(db.pool, [{ id: 'kappa', version: '1.1.0', tenantFiles: [...KAPPA_TENANT_FILES, '003_tags.sql'] }])).toEqual([]);

    // An older module folder than what is installed is refused before anything is written.
    setModuleVersion(dir, '1.0.5');
    const before = await catalogSnapshot(db.pool);
    const older = await plugins('enable', 'kappa', '--all');
    expect(older.code).toBe(1);
    expect(older.error).toMatch(/installed at 1\.1\.0, newer than the module folder's 1\.0\.5 .*: nothing done/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('leaves a tenant whose migration fails as it was, enables the others, and exits 1', async () => {
    await db.sql('CREATE TABLE tenant_t0002.kappa_items (x int)');
    const run = await plugins('enable', 'kappa', '--all');
    expect(run.code).toBe(1);
    const events = run.json();
    expect(events.filter((e) => e.event === 'tenant').map((e) => [e.tenant, e.state])).toEqual([['t0001', 'enabled'], ['t0002', 'not-ready'], ['t0003', 'enabled']]);
    expect(events.at(-1)).toMatchObject({ exitCode: 1, failures: [expect.stringMatching(/001_init\.sql of plugin "kappa" failed in tenant t0002 .*already exists/)] });
    expect((await read.tenants()).map((r) => r.code)).toEqual(['t0001', 't0003']);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '0.0.0' });
    expect(await registryProblems(db.pool, [{ id: 'kappa', version: '1.0.0', tenantFiles: KAPPA_TENANT_FILES }])).toEqual([]);
  });

  it('disables globally (the kill switch) and per tenant, deleting nothing; enabling again restores', async () => {
    expect((await plugins('enable', 'kappa', '--all')).code).toBe(0);
    expect((await plugins('enable', 'kappa')).code).toBe(0);
    const ledger = await read.ledger();
    const tables = await read.tables();

    const global = await plugins('disable', 'kappa');
    expect(global.code).toBe(0);
    expect(global.json()).toEqual([{ event: 'summary', command: 'disable', plugin: 'kappa', scope: 'global', enabledGlobal: false, exitCode: 0 }]);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '1.0.0' });
    expect((await read.tenants()).map((r) => r.enabled)).toEqual([true, true, true]);
    expect(await pluginEnablement(db.pool, 'kappa', await read.tenantId('t0001'))).toEqual({ global: false, tenant: true });

    await addTenants(db.pool, 4, 4);
    const some = await plugins('disable', 'kappa', '--tenant', 't0002', '--tenant', 't0004');
    expect(some.code).toBe(0);
    expect(some.json().filter((e) => e.event === 'tenant').map((e) => [e.tenant, e.state])).toEqual([['t0002', 'disabled'], ['t0004', 'not-installed']]);
    expect((await plugins('disable', 'kappa', '--tenant', 't0002')).json()[0]).toMatchObject({ tenant: 't0002', state: 'already-disabled' });
    expect(await read.tenants()).toEqual([
      { code: 't0001', enabled: true, version_installed: '1.0.0' },
      { code: 't0002', enabled: false, version_installed: '1.0.0' },
      { code: 't0003', enabled: true, version_installed: '1.0.0' },
    ]);
    expect((await plugins('disable', 'kappa', '--all')).code).toBe(0);
    expect((await read.tenants()).map((r) => r.enabled)).toEqual([false, false, false]);
    expect(await read.ledger()).toEqual(ledger);
    expect(await read.tables()).toEqual(tables);

    expect((await plugins('enable', 'kappa')).code).toBe(0);
    expect((await plugins('enable', 'kappa', '--tenant', 't0001')).code).toBe(0);
    expect(await pluginEnablement(db.pool, 'kappa', await read.tenantId('t0001'))).toEqual({ global: true, tenant: true });
    expect(await pluginEnablement(db.pool, 'kappa', await read.tenantId('t0002'))).toEqual({ global: true, tenant: false });
  });

  it('refuses a module whose contract major the host does not implement, writing nothing (new, or as an upgrade)', async () => {
    const lambda = scratchModule('lambda', { 'tenant/001_init.sql': 'CREATE TABLE lambda_t (n int);\n' }, { api: '2.x' });
    expect((await plugins('enable', 'kappa', '--all')).code).toBe(0);
    const before = await catalogSnapshot(db.pool);
    const refused = await runPlugins(['enable', 'lambda', '--all', '--modules', lambda, '--database-url', db.database.url]);
    expect(refused.code).toBe(1);
    expect(refused.error).toMatch(/meta\.api "2\.x" is not supported: this host implements contract 1\.x\. Nothing of plugin "lambda" is installed/);

    // kappa 2.0.0 declares contract 2.x, with a new migration: none of it may land.
    writeMigrations(dir, { 'tenant/003_v2.sql': 'CREATE TABLE kappa_v2 (n int);\n' });
    fs.writeFileSync(path.join(dir, 'plugin', 'index.ts'), fs.readFileSync(path.join(dir, 'plugin', 'index.ts'), 'utf8').replace("version: '1.0.0', api: '1.x'", "version: '2.0.0', api: '2.x'"));
    const upgrade = await plugins('enable', 'kappa', '--all');
    expect(upgrade.code).toBe(1);
    expect(upgrade.error).toMatch(/meta\.api "2\.x" is not supported/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    // On a database never written to, not even the system tables are created.
    const empty = await createThrowawayDatabase(server.url);
    try {
      const pool = new pg.Pool({ connectionString: empty.url, max: 2 });
      // A session the database's drop ends must not surface as an uncaught pool error.
      pool.on('error', () => {});
      const untouched = await catalogSnapshot(pool);
      expect((await runPlugins(['enable', 'lambda', '--tenant', 'acme', '--modules', lambda, '--database-url', empty.url])).code).toBe(1);
      expect(await catalogSnapshot(pool)).toEqual(untouched);
      await pool.end();
    } finally {
      await empty.drop();
    }
  });

  it('sends a NOTIFY for each change, delivered at its commit (the change is visible when it arrives); a refusal sends none', async () => {
    const probe = `SELECT p.enabled_global, (SELECT count(*)::int FROM sys_tenant_plugins tp WHERE tp.plugin_id = 'kappa' AND tp.enabled) AS "on"
                     FROM sys_plugins p WHERE p.plugin_id = 'kappa'`;
    const listener = await listenForChanges(db.database.url, probe);
    /** What one command sent, once nothing more arrives for 300 ms. */
    const sentBy = async (...args: string[]) => {
      const from = listener.received.length;
      const run = await plugins(args[0]!, ...args.slice(1));
      for (let seen = -1; seen !== listener.received.length;) {
        seen = listener.received.length;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      return { code: run.code, sent: listener.received.slice(from) };
    };
    try {
      const enableTenant = await sentBy('enable', 'kappa', '--tenant', 't0001');
      const t1 = await read.tenantId('t0001');
      expect(enableTenant.code).toBe(0);
      // Installing registers the plugin (its own commit), then switches it on for t0001.
      expect(enableTenant.sent).toContainEqual({ change: { kind: 'plugins', pluginId: 'kappa' }, seen: [{ enabled_global: false, on: 0 }] });
      expect(enableTenant.sent.at(-1)).toEqual({ change: { kind: 'enablement', pluginId: 'kappa', tenantIds: [t1] }, seen: [{ enabled_global: false, on: 1 }] });
      expect(await sentBy('enable', 'kappa')).toEqual({ code: 0, sent: [{ change: { kind: 'enablement', pluginId: 'kappa' }, seen: [{ enabled_global: true, on: 1 }] }] });
      expect(await sentBy('disable', 'kappa', '--tenant', 't0001')).toEqual({
        code: 0, sent: [{ change: { kind: 'enablement', pluginId: 'kappa', tenantIds: [t1] }, seen: [{ enabled_global: true, on: 0 }] }],
      });
      expect(await sentBy('disable', 'kappa')).toEqual({ code: 0, sent: [{ change: { kind: 'enablement', pluginId: 'kappa' }, seen: [{ enabled_global: false, on: 0 }] }] });
      // Nothing changes, nothing is sent.
      expect(await sentBy('disable', 'kappa')).toEqual({ code: 0, sent: [] });
      expect(await sentBy('enable', 'kappa', '--tenant', 'nope')).toEqual({ code: 1, sent: [] });
    } finally {
      await listener.close();
    }
  });

  it('sends a change for a write made outside the kit (psql), from the registry tables\' triggers', async () => {
    expect((await plugins('enable', 'kappa', '--tenant', 't0001', '--tenant', 't0002')).code).toBe(0);
    const [t1, t2] = [await read.tenantId('t0001'), await read.tenantId('t0002')];
    const listener = await listenForChanges(db.database.url, `SELECT count(*)::int AS "on" FROM sys_tenant_plugins WHERE plugin_id = 'kappa' AND enabled`);
    try {
      await db.pool.query(`UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'kappa'`);
      await listener.waitFor(1);
      expect(listener.received[0]).toEqual({ change: { kind: 'enablement', pluginId: 'kappa', tenantIds: [t1, t2].sort() }, seen: [{ on: 0 }] });
      await db.pool.query(`UPDATE sys_plugins SET enabled_global = true WHERE plugin_id = 'kappa'`);
      await listener.waitFor(2);
      expect(listener.received[1]!.change).toEqual({ kind: 'enablement', pluginId: 'kappa' });
      await db.pool.query(`UPDATE sys_plugins SET updated_at = now() WHERE plugin_id = 'kappa'`);
      await listener.waitFor(3);
      expect(listener.received[2]!.change).toEqual({ kind: 'plugins', pluginId: 'kappa' });
      // A statement that changes no row sends nothing.
      await db.pool.query(`UPDATE sys_tenant_plugins SET enabled = true WHERE plugin_id = 'no-such-plugin'`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(listener.received).toHaveLength(3);
    } finally {
      await listener.close();
    }
  });

  it('lists installed plugins and module folders found, with tenants on and the environment kill switch', async () => {
    const mu = scratchModule('mu', { 'tenant/001_init.sql': 'CREATE TABLE mu_t (n int);\n' }, { version: '0.3.0' });
    expect((await plugins('enable', 'kappa', '--tenant', 't0001')).code).toBe(0);
    const args = ['list', '--modules', dir, '--modules', mu, '--database-url', db.database.url];
    const env = { FOUNDATION_DISABLED_PLUGINS: 'kappa, other' };
    const json = await runPlugins([...args, '--json'], { env });
    expect(json.code).toBe(0);
    expect(json.json()).toEqual([
      { event: 'plugin', plugin: 'kappa', installed: true, versionInstalled: '0.0.0', moduleVersion: '1.0.0', moduleDir: dir, enabledGlobal: false, tenantsEnabled: 1, tenantsInstalled: 1, tenants: 3, disabledByEnv: true },
      { event: 'plugin', plugin: 'mu', installed: false, versionInstalled: null, moduleVersion: '0.3.0', moduleDir: mu, enabledGlobal: false, tenantsEnabled: 0, tenantsInstalled: 0, tenants: 3, disabledByEnv: false },
      { event: 'summary', plugins: 2, installed: 1, tenants: 3, disabledByEnv: ['kappa', 'other'] },
    ]);
    const text = (await runPlugins(args, { env })).lines.join('\n');
    expect(text).toMatch(/^ {2}plugin +installed +module +global +tenants on +FOUNDATION_DISABLED_PLUGINS$/m);
    expect(text).toMatch(/^ {2}kappa +0\.0\.0 +1\.0\.0 +off \(kill switch\) +1\/3 +disabled$/m);
    expect(text).toMatch(/^ {2}mu +- +0\.3\.0 +- +0\/3$/m);
    expect(text).toContain('FOUNDATION_DISABLED_PLUGINS also names other, which is neither installed nor found.');

    // A value a sandbox would refuse to start with is reported, with exit 1: that kill switch would not work.
    const broken = await runPlugins(args, { env: { FOUNDATION_DISABLED_PLUGINS: 'kappa;mu' } });
    expect(broken.code).toBe(1);
    expect(broken.lines.join('\n')).toMatch(/FOUNDATION_DISABLED_PLUGINS: "kappa;mu" is not a plugin id.* A sandbox started with this value refuses to start\./);

    // Listing a database never written to creates nothing there.
    const empty = await createThrowawayDatabase(server.url);
    try {
      const pool = new pg.Pool({ connectionString: empty.url, max: 2 });
      // A session the database's drop ends must not surface as an uncaught pool error.
      pool.on('error', () => {});
      const untouched = await catalogSnapshot(pool);
      const run = await runPlugins(['list', '--modules', dir, '--database-url', empty.url, '--json']);
      expect(run.json()[0]).toMatchObject({ plugin: 'kappa', installed: false, tenants: 0 });
      expect(await catalogSnapshot(pool)).toEqual(untouched);
      await pool.end();
    } finally {
      await empty.drop();
    }
  });
});

describe('foundation-module plugins without a database URL', () => {
  it('uses the embedded PostgreSQL of --sandbox-dir', () => {
    const sandboxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-plugins-sandbox-'));
    fs.chmodSync(sandboxDir, 0o755);
    dirs.push(sandboxDir);
    const dir = scratchModule('nu', { 'tenant/001_init.sql': 'CREATE TABLE nu_t (n int);\n' });
    const cli = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, 'plugins', ...args, '--sandbox-dir', sandboxDir], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' }, timeout: 120_000 });
    const enable = run(['enable', 'nu', '--modules', dir]);
    expect(enable.status, enable.stderr).toBe(0);
    expect(enable.stdout).toMatch(/Plugin nu 1\.0\.0: enabled globally/);
    const list = run(['list', '--modules', dir, '--json']);
    expect(list.status, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout.split('\n')[0]!)).toMatchObject({ plugin: 'nu', installed: true, enabledGlobal: true });
  });
});
