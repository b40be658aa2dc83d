import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { loadPlugins, PluginLoadError } from '../sandbox/plugins/loader.ts';
import { databaseServers, startTestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE, moduleVariant } from './helpers/examples.ts';

const made: string[] = [];
function variant(edit: Parameters<typeof moduleVariant>[0]): string {
  const dir = moduleVariant(edit);
  made.push(dir);
  return dir;
}
afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const editPlugin = (from: string | RegExp, to: string) => ({ 'plugin/index.ts': (old: string) => old.replace(from, to) });

describe('loading plugins', () => {
  it('loads the example module with its permissions and role templates', async () => {
    const [items] = await loadPlugins([ITEMS_MODULE]);
    expect(items!.meta).toEqual({ id: 'items', version: '0.1.0', api: '1.x' });
    expect(items!.permissions).toEqual(['items.items.read', 'items.items.create', 'items.items.update', 'items.items.delete']);
    expect(items!.roleTemplates.map((r) => r.key)).toEqual(['ITEMS_VIEWER', 'ITEMS_MANAGER']);
  });

  it.each([
    ['a contract major other than 1', editPlugin("api: '1.x'", "api: '2.x'"), /meta\.api "2\.x" of plugin "items" is not supported: this host implements contract 1\.x/],
    ['a bad id', editPlugin("id: 'items'", "id: 'Bad_Id'"), /meta\.id "Bad_Id" must be lowercase kebab-case/],
    ['a reserved id', editPlugin("id: 'items'", "id: 'admin'"), /meta\.id "admin" is reserved/],
    ['a version that is not semver', editPlugin("version: '0.1.0', api", "version: 'one', api"), /meta\.version "one" of plugin "items" must be a semver version/],
    ['a missing register', editPlugin('async register(ctx) {', 'async registr(ctx: never) {'), /register of plugin "items" is missing/],
    ['a permission outside its namespace', editPlugin('...itemsPermissions,', "...itemsPermissions, 'orders.read',"), /permission "orders.read" of plugin "items" must be namespaced by the plugin id/],
  ])('refuses %s with a message naming module and field', async (_what, edit, message) => {
    const dir = variant(edit);
    const error = await loadPlugins([dir]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginLoadError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`Module ${dir}`);
  });

  it('refuses module.config.ts permissions that drift from the plugin', async () => {
    const dir = variant({ 'module.config.ts': (old) => old.replace('  permissions,\n', "  permissions: ['items.items.read'],\n") });
    await expect(loadPlugins([dir])).rejects.toThrow(/module\.config\.ts permissions differ from plugin\/index\.ts/);
  });

  it('refuses two modules with one id', async () => {
    const dir = variant({});
    await expect(loadPlugins([ITEMS_MODULE, dir])).rejects.toThrow(/both declare meta\.id "items": plugin ids must be unique/);
  });

  it('refuses a directory that is not a module', async () => {
    await expect(loadPlugins(['/nonexistent/module'])).rejects.toThrow(/Module \/nonexistent\/module: no plugin\/index\.ts found/);
  });

  it('refuses a plugin that requires a permission it did not declare, at registration', async () => {
    const dir = variant({ 'plugin/items.ts': (old: string) => old.replace("ctx.rbac.require('items.items.delete')", "ctx.rbac.require('items.items.purge')") });
    await expect(startTestSandbox({ moduleDirs: [dir], serverUrl: databaseServers()[0]!.url }))
      .rejects.toThrow(/register\(\) of plugin "items" failed: Plugin "items" requires permission "items\.items\.purge", which it does not declare/);
  });

  it('refuses a bad plugin before touching any database', async () => {
    const dir = variant(editPlugin("api: '1.x'", "api: '2.x'"));
    // An unreachable database URL: the refusal must come from the plugin check, not a connection error.
    await expect(createSandbox({ moduleDirs: [dir], databaseUrl: 'postgres://nobody@127.0.0.1:1/none', logger: createLogger({ level: 'silent' }) }))
      .rejects.toThrow(/meta\.api "2\.x"/);
  });
});
