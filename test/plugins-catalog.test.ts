/**
 * Issue 16: `plugins enable` keeps the permission catalog and the role templates true, on a
 * database no sandbox ever started on, and again on an upgrade; a module whose catalog is wrong
 * is refused with nothing written. The manifest a foundation keeps (module.manifest.json) is
 * checked as code is (hostile values table); the bundle's use of it is in operator-bundle.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ModuleCatalogError, readModuleManifest } from '../sandbox/plugins/catalog.ts';
import { readStaticMeta } from '../sandbox/plugins/static-meta.ts';
import { databaseServers } from '../testing/databases.ts';
import { catalogSnapshot, fixtureModule, migrationDb, type MigrationDb } from './helpers/migration-fixtures.ts';
import { runPlugins, setModuleVersion } from './helpers/plugins-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A module whose code declares `permissions` and, in module.config.ts, role templates. */
function moduleWithCatalog(id: string, permissions: string[], templates: { key: string; displayName: string; permissions: string[] }[]): string {
  const dir = fixtureModule(id, { 'tenant/001_init.sql': `CREATE TABLE ${id}_t (n int);\n` });
  dirs.push(dir);
  writeCatalog(dir, permissions, templates);
  return dir;
}

function writeCatalog(dir: string, permissions: string[], templates: unknown[]): void {
  const entry = path.join(dir, 'plugin', 'index.ts');
  const source = fs.readFileSync(entry, 'utf8').replace(/^export const permissions.*\n/m, '');
  fs.writeFileSync(entry, `export const permissions: string[] = ${JSON.stringify(permissions)};\n${source}`);
  fs.writeFileSync(path.join(dir, 'module.config.ts'),
    `import plugin, { permissions } from './plugin/index.ts';\nexport default { ...plugin.meta, permissions, roleTemplates: ${JSON.stringify(templates)} };\n`);
}

describe.each(databaseServers())('plugins enable records the catalog on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  beforeEach(async (context) => {
    db = await migrationDb(server.url, 2);
    context.onTestFinished(() => db.close());
  });
  const enable = (dir: string, ...rest: string[]) => runPlugins(['enable', readStaticMeta(dir).id, ...rest, '--modules', dir, '--database-url', db.database.url, '--json']);
  const permissions = () => db.sql<{ permission: string; plugin_id: string }>('SELECT permission, plugin_id FROM sys_permission ORDER BY permission');
  const templates = () => db.sql('SELECT role_key, display_name, permissions, version FROM sys_plugin_role_templates ORDER BY version, role_key');

  it('writes sys_permission and sys_plugin_role_templates from the module\'s code, and follows an upgrade', async () => {
    const dir = moduleWithCatalog('sigma', ['sigma.items.read', 'sigma.items.write'], [
      { key: 'SIGMA_VIEWER', displayName: 'Sigma viewer', permissions: ['sigma.items.read'] },
    ]);
    const run = await enable(dir, '--tenant', 't0001');
    expect(run.code, run.error).toBe(0);
    expect(run.json().at(-1)).toMatchObject({ event: 'summary', catalog: { source: 'code', permissions: 2, roleTemplates: 1 } });
    expect(await permissions()).toEqual([{ permission: 'sigma.items.read', plugin_id: 'sigma' }, { permission: 'sigma.items.write', plugin_id: 'sigma' }]);
    expect(await templates()).toEqual([{ role_key: 'SIGMA_VIEWER', display_name: 'Sigma viewer', permissions: ['sigma.items.read'], version: '1.0.0' }]);

    // A tenant's role granted the permission the next version drops.
    await db.sql(`INSERT INTO sys_role (tenant_id, key, name) SELECT id, 'EDITOR', 'Editor' FROM sys_tenant WHERE code = 't0001'`);
    await db.sql(`INSERT INTO sys_role_permission (role_id, permission) SELECT id, 'sigma.items.write' FROM sys_role WHERE key = 'EDITOR'`);

    setModuleVersion(dir, '1.1.0');
    writeCatalog(dir, ['sigma.items.read', 'sigma.items.delete'], [
      { key: 'SIGMA_VIEWER', displayName: 'Sigma viewer', permissions: ['sigma.items.read'] },
      { key: 'SIGMA_ADMIN', displayName: 'Sigma admin', permissions: ['sigma.items.read', 'sigma.items.delete'] },
    ]);
    // This process read the module at 1.0.0 before: the catalog is read from the folder as it is now.
    const upgrade = await enable(dir, '--all');
    expect(upgrade.code, upgrade.error).toBe(0);
    expect(upgrade.json().at(-1)).toMatchObject({ catalog: { source: 'code', permissions: 2, roleTemplates: 2 } });
    // The dropped permission a tenant's role grants is kept, grant and all, and the command says how to remove it (issue 25).
    expect(upgrade.json().at(-1)!.keptPermissions).toEqual([{
      permission: 'sigma.items.write', owner: 'sigma', grants: 1, tenants: 1,
      message: 'Permission sigma.items.write is no longer declared by sigma, but 1 role grant(s) in 1 tenant(s) hold it: it is kept, with its grants. ' +
        "Once no tenant needs it, remove it and its grants with: DELETE FROM public.sys_permission WHERE permission = 'sigma.items.write';",
    }]);
    expect(await permissions()).toEqual(['sigma.items.delete', 'sigma.items.read', 'sigma.items.write'].map((permission) => ({ permission, plugin_id: 'sigma' })));
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_role_permission WHERE permission = 'sigma.items.write'`)).toEqual([{ n: 1 }]);
    // Said again at each enable, in words without --json, until someone removes it.
    const plain = await runPlugins(['enable', 'sigma', '--all', '--modules', dir, '--database-url', db.database.url]);
    expect(plain.lines).toContain(`Warning: ${(upgrade.json().at(-1)!.keptPermissions as { message: string }[])[0]!.message}`);
    // Removed as the message says, it stays removed.
    await db.sql(`DELETE FROM public.sys_permission WHERE permission = 'sigma.items.write'`);
    expect((await enable(dir, '--all')).json().at(-1)!.keptPermissions).toEqual([]);
    expect(await permissions()).toEqual(['sigma.items.delete', 'sigma.items.read'].map((permission) => ({ permission, plugin_id: 'sigma' })));
    expect((await templates()).map((t) => `${t.version} ${t.role_key}`)).toEqual(['1.0.0 SIGMA_VIEWER', '1.1.0 SIGMA_ADMIN', '1.1.0 SIGMA_VIEWER']);

    // Enabling again changes nothing.
    const before = await catalogSnapshot(db.pool);
    expect((await enable(dir, '--all')).code).toBe(0);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it.each([
    ['a permission of another plugin', ['other.items.read'], [], /permission "other\.items\.read" of plugin "tau"/],
    ['a permission that is not <id>.<resource>.<action>', ['tau.read'], [], /permission "tau\.read"/],
    ['a template granting what the module does not declare', ['tau.items.read'], [{ key: 'TAU_X', displayName: 'X', permissions: ['tau.items.write'] }], /role template TAU_X.*grants "tau\.items\.write"/],
    ['a template key that is not UPPER_SNAKE_CASE', ['tau.items.read'], [{ key: 'tau-x', displayName: 'X', permissions: [] }], /roleTemplates key "tau-x".*UPPER_SNAKE_CASE/],
  ])('refuses a module with %s, writing nothing (exit 1)', async (_what, declared, roleTemplates, message) => {
    const dir = moduleWithCatalog('tau', declared, roleTemplates);
    const before = await catalogSnapshot(db.pool);
    const run = await enable(dir, '--tenant', 't0001');
    expect(run.code).toBe(1);
    expect(run.error).toMatch(message);
    expect(run.error).toMatch(/Nothing done\.$/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});

describe('module.manifest.json, the catalog where the code cannot load', () => {
  const manifestDir = (content: string) => {
    const dir = fixtureModule('phi', {});
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'module.manifest.json'), content);
    return dir;
  };
  const manifest = (fields: Record<string, unknown>) => JSON.stringify({ id: 'phi', version: '1.0.0', permissions: ['phi.items.read'], roleTemplates: [], ...fields });

  it('reads id, version, permissions and templates; none without the file', () => {
    const dir = manifestDir(manifest({ roleTemplates: [{ key: 'PHI_VIEWER', displayName: 'Viewer', permissions: ['phi.items.read'] }] }));
    expect(readModuleManifest(dir)).toEqual({
      id: 'phi', version: '1.0.0', permissions: ['phi.items.read'], roleTemplates: [{ key: 'PHI_VIEWER', displayName: 'Viewer', permissions: ['phi.items.read'] }], source: 'manifest',
    });
    fs.rmSync(path.join(dir, 'module.manifest.json'));
    expect(readModuleManifest(dir)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{ id: phi', /is not a module manifest/],
    ['an array', '[]', /is not a module manifest \(\(root\)/],
    ['permissions not a list', manifest({ permissions: 'phi.items.read' }), /permissions: /],
    ['a permission of another plugin', manifest({ permissions: ['admin.users.delete'] }), /permission "admin\.users\.delete"/],
    ['a permission with SQL in it', manifest({ permissions: ["phi.items.read'; DROP TABLE sys_permission; --"] }), /permission "phi\.items\.read'; DROP/],
    ['a template granting an undeclared permission', manifest({ roleTemplates: [{ key: 'PHI_X', displayName: 'X', permissions: ['phi.items.write'] }] }), /grants "phi\.items\.write"/],
    ['a template without a display name', manifest({ roleTemplates: [{ key: 'PHI_X', permissions: [] }] }), /roleTemplates\.0: must have required property 'displayName'/],
    ['an id that is not a plugin id', manifest({ id: '../phi' }), /meta\.id "\.\.\/phi"/],
  ])('refuses a manifest with %s, naming the file and the field', (_what, content, message) => {
    const dir = manifestDir(content);
    const error = (() => {
      try {
        readModuleManifest(dir);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ModuleCatalogError);
    expect((error as Error).message).toContain(path.join(dir, 'module.manifest.json'));
    expect((error as Error).message).toMatch(message);
  });
});
