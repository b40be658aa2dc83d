/**
 * `foundation-module plugins uninstall` on both servers: data kept by default, the JSON export
 * (rows, file names, only the module's own tables), `--drop-data --confirm` through the
 * migration runner's down files, refusals that change nothing, and the NOTIFY of the change.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import type { LoadedPlugin } from '../sandbox/plugins/loader.ts';
import { pluginEnablement, recordTenantPlugins } from '../operations/registry/enablement.ts';
import { databaseServers } from '../testing/databases.ts';
import { catalogSnapshot, migrationDb, type MigrationDb } from './helpers/migration-fixtures.ts';
import { KAPPA_FILES, listenForChanges, moduleWithMeta, registryProblems, registryReader, runPlugins } from './helpers/plugins-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const scratch = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

describe.each(databaseServers())('foundation-module plugins uninstall on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let dir: string;
  let read: ReturnType<typeof registryReader>;
  const plugins = (sub: string, ...rest: string[]) => runPlugins([sub, ...rest, '--modules', dir, '--database-url', db.database.url, '--json']);

  /** kappa on every tenant, with rows in t0001, and a table of another owner whose name LIKE 'kappa_%' would match. */
  async function installed(files = KAPPA_FILES): Promise<void> {
    dir = moduleWithMeta('kappa', files);
    dirs.push(dir);
    const run = await plugins('enable', 'kappa', '--all');
    expect(run.code, run.error).toBe(0);
    await db.sql(`INSERT INTO tenant_t0001.kappa_items (name, big) VALUES ('first', 9007199254740993), ('second "quoted"', NULL)`);
    await db.sql(`INSERT INTO tenant_t0003.kappa_items (name) VALUES ('third')`);
    await db.sql(`CREATE TABLE tenant_t0001.kappaxitems (n int); INSERT INTO tenant_t0001.kappaxitems VALUES (1)`);
  }

  beforeEach(async (context) => {
    db = await migrationDb(server.url, 3);
    read = registryReader(db.pool, 'kappa');
    context.onTestFinished(() => db.close());
  });

  it('keeps the tables and rows by default: only the tenant rows go, and the plugin is off there', async () => {
    await installed();
    const ledger = await read.ledger();
    const run = await plugins('uninstall', 'kappa', '--tenant', 't0001');
    expect(run.code, run.error).toBe(0);
    expect(run.json()[0]).toEqual({ event: 'tenant', plugin: 'kappa', tenant: 't0001', removed: true, exported: [], migrationsUndone: 0 });
    expect((await read.tenants()).map((r) => r.code)).toEqual(['t0002', 't0003']);
    expect(await db.sql('SELECT name FROM tenant_t0001.kappa_items ORDER BY id')).toEqual([{ name: 'first' }, { name: 'second "quoted"' }]);
    expect(await read.ledger()).toEqual(ledger);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '1.0.0' });
    expect(await pluginEnablement(db.pool, 'kappa', await read.tenantId('t0001'))).toMatchObject({ tenant: false });

    // Again: nothing left to remove, not an error (a rerun after a failure must work).
    expect((await plugins('uninstall', 'kappa', '--tenant', 't0001')).json()[0]).toMatchObject({ removed: false });
    expect((await plugins('uninstall', 'kappa', '--all')).code).toBe(0);
    expect(await read.tenants()).toEqual([]);
    expect(await read.plugin()).toBeDefined();
    expect(await registryProblems(db.pool, [{ id: 'kappa', version: '1.0.0', tenantFiles: ['001_init.sql', '002_notes.sql'] }])).toEqual([]);
  });

  it('--export writes each of the module\'s tables per tenant as JSON with its rows, and refuses a used folder', async () => {
    await installed();
    const target = path.join(scratch('fm-export-'), 'out');
    const run = await plugins('uninstall', 'kappa', '--tenant', 't0001', '--tenant', 't0002', '--export', target);
    expect(run.code, run.error).toBe(0);
    const files = fs.readdirSync(target, { recursive: true }).map(String).sort();
    expect(files).toEqual(['t0001', 't0001/kappa_items.json', 't0001/kappa_notes.json', 't0002', 't0002/kappa_items.json', 't0002/kappa_notes.json']);
    const text = fs.readFileSync(path.join(target, 't0001/kappa_items.json'), 'utf8');
    expect(text, 'a bigint keeps every digit').toContain('"big":9007199254740993');
    expect(JSON.parse(text)).toEqual([{ id: 1, name: 'first', big: 9007199254740993 }, { id: 2, name: 'second "quoted"', big: null }]);
    expect(JSON.parse(fs.readFileSync(path.join(target, 't0002/kappa_notes.json'), 'utf8'))).toEqual([]);
    expect(run.json()[0]).toMatchObject({ tenant: 't0001', exported: [{ table: 'kappa_items', rows: 2, file: path.join(target, 't0001/kappa_items.json') }, { table: 'kappa_notes', rows: 0 }] });

    const before = await catalogSnapshot(db.pool);
    const again = await plugins('uninstall', 'kappa', '--tenant', 't0003', '--export', target);
    expect(again.code).toBe(2);
    expect(again.error).toMatch(/--export .* is not empty/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('refuses to export a table whose name can\'t be a file name as it is, before anything is done', async () => {
    await installed();
    await db.sql(`CREATE TABLE tenant_t0002."kappa_../x" (n int)`);
    const before = await catalogSnapshot(db.pool);
    const target = path.join(scratch('fm-export-'), 'out');
    const run = await plugins('uninstall', 'kappa', '--tenant', 't0002', '--export', target);
    expect(run.code).toBe(1);
    expect(run.error).toMatch(/Table "kappa_\.\.\/x" of tenant "t0002" can't be named as a file safely/);
    expect(fs.existsSync(target)).toBe(false);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('--drop-data --confirm undoes its migrations in those tenants only, after the export, and says what is left', async () => {
    await installed();
    await db.sql('CREATE TABLE tenant_t0003.kappa_extra (n int)');
    const target = path.join(scratch('fm-export-'), 'out');
    const run = await plugins('uninstall', 'kappa', '--tenant', 't0001', '--tenant', 't0003', '--drop-data', '--confirm', 'kappa', '--export', target);
    expect(run.code, run.error).toBe(0);
    expect(run.json().filter((e) => e.event === 'tenant').map((e) => [e.tenant, e.removed, e.migrationsUndone])).toEqual([['t0001', true, 2], ['t0003', true, 2]]);
    expect(run.json().at(-1)).toMatchObject({ event: 'summary', dataDropped: true, leftTables: [{ tenant: 't0003', schema: 'tenant_t0003', table: 'kappa_extra' }], failures: [] });
    // Exported first, dropped after.
    expect(JSON.parse(fs.readFileSync(path.join(target, 't0003/kappa_items.json'), 'utf8'))).toEqual([{ id: 1, name: 'third', big: null }]);
    expect(await read.tables()).toEqual(['public.kappa_settings', 'tenant_t0002.kappa_items', 'tenant_t0002.kappa_notes', 'tenant_t0003.kappa_extra']);
    expect(await db.sql(`SELECT n FROM tenant_t0001.kappaxitems`)).toEqual([{ n: 1 }]);
    expect(await read.ledger()).toEqual([
      { target: 'public', name: '001_settings.sql' }, { target: 't0002', name: '001_init.sql' }, { target: 't0002', name: '002_notes.sql' },
    ]);
    expect((await read.tenants()).map((r) => r.code)).toEqual(['t0002']);
    // No longer at 1.0.0 in every tenant.
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '0.0.0' });
    expect(await registryProblems(db.pool, [{ id: 'kappa', version: '1.0.0', tenantFiles: ['001_init.sql', '002_notes.sql'] }])).toEqual([]);

    // Enabling again installs it afresh there.
    await db.sql('DROP TABLE tenant_t0003.kappa_extra');
    expect((await plugins('enable', 'kappa', '--all')).code).toBe(0);
    expect(await db.sql('SELECT count(*)::int AS n FROM tenant_t0001.kappa_items')).toEqual([{ n: 0 }]);
    expect(await read.plugin()).toEqual({ enabled_global: false, version_installed: '1.0.0' });
  });

  it('stays uninstalled: migrate up, a sandbox start and a tenant taken on leave those tenants alone until enable names them', async () => {
    await installed();
    const uninstall = await plugins('uninstall', 'kappa', '--tenant', 't0001', '--tenant', 't0003', '--drop-data', '--confirm', 'kappa');
    expect(uninstall.code, uninstall.error).toBe(0);
    uninstall.json(); // JSON throughout
    const gone = async () => (await read.tables()).filter((t) => !t.startsWith('tenant_t0002') && t !== 'public.kappa_settings');
    expect(await gone()).toEqual([]);

    // `migrate up` over every tenant: nothing recreated, and it says why.
    const lines: string[] = [];
    expect(await migrateCommand(['up', '--database-url', db.database.url, '--json'], { cwd: dir, write: (l) => lines.push(l) })).toBe(0);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'planned')).toMatchObject({ runnable: 0, uninstalled: 2 });
    const status: string[] = [];
    expect(await migrateCommand(['status', '--database-url', db.database.url], { cwd: dir, write: (l) => status.push(l) })).toBe(0);
    expect(status.join('\n')).toMatch(/2 left alone \(plugin uninstalled there; `plugins enable --tenant` installs it again\)/);
    // Even named: a canary run does not install a plugin; enable does.
    expect(await migrateCommand(['up', '--tenant', 't0001', '--database-url', db.database.url], { cwd: dir, write: () => {} })).toBe(0);
    expect(await gone()).toEqual([]);

    // What a sandbox does at start and for a tenant created meanwhile: no enablement row comes back.
    const client = await db.pool.connect();
    try {
      const plugin = { meta: { id: 'kappa', version: '1.0.0', api: '1.x' } } as unknown as LoadedPlugin;
      await recordTenantPlugins(client, [plugin], [await read.tenantId('t0001'), await read.tenantId('t0002'), await read.tenantId('t0003')]);
    } finally {
      client.release();
    }
    expect((await read.tenants()).map((r) => r.code)).toEqual(['t0002']);
    expect(await db.sql('SELECT t.code, u.data_dropped FROM sys_tenant_plugin_uninstalls u JOIN sys_tenant t ON t.id = u.tenant_id ORDER BY t.code'))
      .toEqual([{ code: 't0001', data_dropped: true }, { code: 't0003', data_dropped: true }]);

    // Enabling t0001 installs it there again (tables, ledger, row); t0003 stays uninstalled.
    expect((await plugins('enable', 'kappa', '--tenant', 't0001')).code).toBe(0);
    expect(await gone()).toEqual(['tenant_t0001.kappa_items', 'tenant_t0001.kappa_notes']);
    expect((await read.tenants()).map((r) => r.code)).toEqual(['t0001', 't0002']);
    expect(await db.sql('SELECT t.code FROM sys_tenant_plugin_uninstalls u JOIN sys_tenant t ON t.id = u.tenant_id')).toEqual([{ code: 't0003' }]);
    expect(await migrateCommand(['up', '--database-url', db.database.url], { cwd: dir, write: () => {} })).toBe(0);
    expect(await gone()).toEqual(['tenant_t0001.kappa_items', 'tenant_t0001.kappa_notes']);
  });

  it('refuses --drop-data when a down file is missing, naming it, with nothing changed (export included)', async () => {
    const { 'tenant/002_notes.down.sql': _gone, ...withoutDown } = KAPPA_FILES;
    await installed(withoutDown);
    const before = await catalogSnapshot(db.pool);
    const target = path.join(scratch('fm-export-'), 'out');
    const run = await plugins('uninstall', 'kappa', '--all', '--drop-data', '--confirm', 'kappa', '--export', target);
    expect(run.code).toBe(1);
    expect(run.error).toMatch(/^Nothing done: the data of plugin "kappa" can't be dropped in 3 tenant\(s\)\. 002_notes\.sql of plugin "kappa" has no 002_notes\.down\.sql: it can't be undone/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('sends the enablement change in the transaction that removes the rows', async () => {
    await installed();
    const listener = await listenForChanges(db.database.url, `SELECT count(*)::int AS n FROM sys_tenant_plugins WHERE plugin_id = 'kappa'`);
    try {
      expect((await plugins('uninstall', 'kappa', '--tenant', 't0002')).code).toBe(0);
      await listener.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(listener.received).toEqual([
        { change: { kind: 'enablement', pluginId: 'kappa', tenantIds: [await read.tenantId('t0002')] }, seen: [{ n: 2 }] },
      ]);
    } finally {
      await listener.close();
    }
  });
});
