/**
 * The plugin registries in `public`: which plugins are installed at which version, their
 * permissions in the catalog, and their role templates. Writes only what differs, so a start
 * with nothing new changes no row; never writes a module older than what is recorded.
 */
import type pg from 'pg';
import type { ModuleCatalog } from '../../sandbox/plugins/catalog.ts';
import type { LoadedPlugin } from '../../sandbox/plugins/loader.ts';
import { syncPermissions, type KeptPermission } from './permission-catalog.ts';
import { refuseDowngrade } from './plugin-versions.ts';

export interface RegistryOptions {
  /**
   * Enable a newly seen plugin globally and for every tenant. The sandbox does, so a module works
   * as soon as it is loaded; a foundation enables explicitly. @default true
   */
  enableNewPlugins?: boolean;
}

/**
 * Records each plugin at its version, with its catalog. Throws `PluginDowngradeError` before
 * writing anything when the database has a newer version of one of them.
 * @returns the permissions kept although their plugin no longer declares them (tenants grant them)
 */
export async function recordPlugins(client: pg.ClientBase, plugins: LoadedPlugin[], { enableNewPlugins = true }: RegistryOptions = {}): Promise<KeptPermission[]> {
  for (const { meta, dir } of plugins) await refuseDowngrade(client, { id: meta.id, version: meta.version, dir });
  const kept: KeptPermission[] = [];
  for (const { meta, permissions, roleTemplates } of plugins) {
    await client.query(
      `INSERT INTO public.sys_plugins (plugin_id, api_version, version_installed, enabled_global)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (plugin_id) DO UPDATE
         SET api_version = EXCLUDED.api_version, version_installed = EXCLUDED.version_installed, updated_at = now()
         WHERE (sys_plugins.api_version, sys_plugins.version_installed) IS DISTINCT FROM (EXCLUDED.api_version, EXCLUDED.version_installed)`,
      [meta.id, meta.api, meta.version, enableNewPlugins]);
    kept.push(...await recordCatalog(client, { id: meta.id, version: meta.version, permissions, roleTemplates }));
  }
  return kept;
}

/**
 * The plugin's permissions and role templates as its module (at `version`) declares them: new
 * permissions added, those it no longer declares removed unless a tenant's role grants them
 * (permission-catalog.ts), the version's role templates added beside earlier versions'.
 * @returns the permissions kept although the module no longer declares them
 */
export async function recordCatalog(client: pg.ClientBase, catalog: Pick<ModuleCatalog, 'id' | 'version' | 'permissions' | 'roleTemplates'>): Promise<KeptPermission[]> {
  const { id, version, permissions, roleTemplates } = catalog;
  const kept = await syncPermissions(client, id, permissions);
  for (const template of roleTemplates) {
    await client.query(
      `INSERT INTO public.sys_plugin_role_templates (plugin_id, role_key, display_name, permissions, version)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [id, template.key, template.displayName, template.permissions, version]);
  }
  return kept;
}
