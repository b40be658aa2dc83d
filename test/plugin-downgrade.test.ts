/**
 * Issue 25, item 7: an older copy of a module never writes over the registry of a newer one, and a
 * permission that tenants' roles grant is never deleted implicitly. A sandbox started with the
 * older copy refuses to start and changes nothing; an upgrade whose new version drops a granted
 * permission keeps it, with its grants, and says how to remove it; the migration runner's version
 * flip never sets the installed version back.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { runMigrations } from '../operations/migrations/runner.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase, databaseServers } from '../testing/index.ts';
import { moduleVariant } from './helpers/examples.ts';
import { addTenants, migrationDb } from './helpers/migration-fixtures.ts';
import { KAPPA_FILES, moduleWithMeta, runPlugins, setModuleVersion } from './helpers/plugins-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** examples/items at `version`, without the permissions in `dropped` (their routes check items.items.read instead). */
function itemsAt(version: string, dropped: string[] = []): string {
  const dir = moduleVariant({
    'plugin/index.ts': (old) => old.replace("version: '0.1.0'", `version: '${version}'`),
    'plugin/items.ts': (old) => dropped.reduce((code, permission) =>
      code.replace(`  '${permission}',\n`, '').replaceAll(`ctx.rbac.require('${permission}')`, "ctx.rbac.require('items.items.read')"), old),
  });
  dirs.push(dir);
  return dir;
}

/** A logger whose warnings are kept, as the API's output shows them. */
function keptLog() {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger({ level: 'warn', destination: new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done(); } }) });
  return { logger, lines };
}

describe.each(databaseServers())('a module older than the installed one, on $name PostgreSQL', (server) => {
  const start = (moduleDir: string, url: string, logger = createLogger({ level: 'silent' })) =>
    createSandbox({ moduleDirs: [moduleDir], databaseUrl: url, logger, listenForChanges: false, maxConnections: 5 });

  /** items installed at 0.1.0, and a role of tenant acme granted items.items.delete. */
  async function installedWithGrant(url: string): Promise<void> {
    await (await start(itemsAt('0.1.0'), url)).close();
    const pool = new pg.Pool({ connectionString: url });
    try {
      await pool.query(`INSERT INTO sys_role (tenant_id, key, name) SELECT id, 'EDITOR', 'Editor' FROM sys_tenant WHERE code = 'acme'`);
      await pool.query(`INSERT INTO sys_role_permission (role_id, permission) SELECT id, 'items.items.delete' FROM sys_role WHERE key = 'EDITOR'`);
    } finally {
      await pool.end();
    }
  }

  /** What an older copy could have changed: versions, the catalog and the grants. */
  async function registry(url: string) {
    const pool = new pg.Pool({ connectionString: url });
    try {
      const rows = async (sql: string) => (await pool.query(sql)).rows;
      return {
        plugins: await rows('SELECT plugin_id, version_installed, updated_at FROM sys_plugins ORDER BY 1'),
        tenants: await rows('SELECT tenant_id, plugin_id, version_installed, enabled, updated_at FROM sys_tenant_plugins ORDER BY 1, 2'),
        permissions: await rows('SELECT permission, plugin_id FROM sys_permission ORDER BY 1'),
        grants: await rows('SELECT r.key, t.code, rp.permission FROM sys_role_permission rp JOIN sys_role r ON r.id = rp.role_id JOIN sys_tenant t ON t.id = r.tenant_id ORDER BY 1, 2, 3'),
      };
    } finally {
      await pool.end();
    }
  }

  it('refuses to start a sandbox with items 0.0.9 over 0.1.0, naming both versions and what to do; nothing changes, the grant stays', async () => {
    const db = await createThrowawayDatabase(server.url);
    try {
      await installedWithGrant(db.url);
      const before = await registry(db.url);
      const older = itemsAt('0.0.9', ['items.items.delete']);
      const refused = await start(older, db.url).then(async (sandbox) => {
        await sandbox.close();
        return undefined;
      }, (error: Error) => error);
      expect(refused?.name).toBe('SandboxStartError');
      expect(refused?.message).toContain(`Plugin "items" is installed at 0.1.0 in this database, but the module folder ${older} has the older 0.0.9: the sandbox did not start and changed nothing`);
      expect(refused?.message).toMatch(/Start it with the module folder at 0\.1\.0 or newer, or on another database/);
      const after = await registry(db.url);
      expect(after).toEqual(before);
      expect(after.plugins).toMatchObject([{ plugin_id: 'items', version_installed: '0.1.0' }]);
      expect(after.grants).toContainEqual({ key: 'EDITOR', code: 'acme', permission: 'items.items.delete' });

      // The newer copy still starts, and the role still grants what it was given.
      await (await start(itemsAt('0.1.0'), db.url)).close();
      expect((await registry(db.url)).grants).toContainEqual({ key: 'EDITOR', code: 'acme', permission: 'items.items.delete' });
    } finally {
      await db.drop();
    }
  });

  it('keeps a permission an upgrade drops while a tenant role grants it, and says how to remove it; one only the dev admin held goes', async () => {
    const db = await createThrowawayDatabase(server.url);
    try {
      await installedWithGrant(db.url);
      const { logger, lines } = keptLog();
      const sandbox = await start(itemsAt('0.2.0', ['items.items.delete', 'items.items.update']), db.url, logger);
      await sandbox.close();
      const after = await registry(db.url);
      expect(after.plugins).toMatchObject([{ plugin_id: 'items', version_installed: '0.2.0' }]);
      expect(after.permissions.filter((p) => p.plugin_id === 'items').map((p) => p.permission)).toEqual(['items.items.create', 'items.items.delete', 'items.items.read']);
      expect(after.grants).toContainEqual({ key: 'EDITOR', code: 'acme', permission: 'items.items.delete' });
      expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
        'Permission items.items.delete is no longer declared by items, but 1 role grant(s) in 1 tenant(s) hold it: it is kept, with its grants. ' +
        "Once no tenant needs it, remove it and its grants with: DELETE FROM public.sys_permission WHERE permission = 'items.items.delete';",
      ]);
    } finally {
      await db.drop();
    }
  });
});

describe.each(databaseServers())('the migration runner with an older module folder, on $name PostgreSQL', (server) => {
  it('migrates a new tenant but leaves the installed version at the newer one', async () => {
    const db = await migrationDb(server.url, 2);
    const dir = moduleWithMeta('kappa', KAPPA_FILES);
    dirs.push(dir);
    try {
      setModuleVersion(dir, '1.1.0');
      const upgraded = await runPlugins(['enable', 'kappa', '--all', '--modules', dir, '--database-url', db.database.url, '--json']);
      expect(upgraded.code, upgraded.error).toBe(0);
      await addTenants(db.pool, 3, 3);
      setModuleVersion(dir, '1.0.0');
      const report = await runMigrations({ pool: db.pool, modules: [readModuleMigrations(dir)] });
      expect(report.results.map((r) => [r.work.target.tenantCode, r.outcome.state])).toContainEqual(['t0003', 'done']);
      expect(await db.sql(`SELECT version_installed FROM sys_plugins WHERE plugin_id = 'kappa'`)).toEqual([{ version_installed: '1.1.0' }]);
    } finally {
      await db.close();
    }
  });
});
