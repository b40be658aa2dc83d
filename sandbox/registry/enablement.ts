/**
 * Which plugin is on for which tenant: `sys_plugins.enabled_global` (the kill switch) and
 * `sys_tenant_plugins.enabled`. Written and read here only; the HTTP gate asks `isPluginEnabled`.
 */
import type pg from 'pg';
import type { LoadedPlugin } from '../plugins/loader.ts';
import type { RegistryOptions } from './plugins.ts';

export interface Enablement {
  /** False: switched off globally (or not installed), whatever the tenant. */
  global: boolean;
  /** For the tenant asked about; null when no tenant was named. */
  tenant: boolean | null;
}

/** Whether `pluginId` is on, globally and for `tenantId` (one query). */
export async function pluginEnablement(db: pg.Pool | pg.ClientBase, pluginId: string, tenantId: string | null): Promise<Enablement> {
  const { rows } = await db.query<{ enabled_global: boolean; enabled: boolean | null }>(
    `SELECT p.enabled_global, tp.enabled FROM public.sys_plugins p
       LEFT JOIN public.sys_tenant_plugins tp ON tp.plugin_id = p.plugin_id AND tp.tenant_id = $2
      WHERE p.plugin_id = $1`, [pluginId, tenantId]);
  const row = rows[0];
  return { global: row?.enabled_global === true, tenant: tenantId === null ? null : row?.enabled === true };
}

/** Marks each plugin as installed (and, when new, enabled) for each tenant at its current version. */
export async function recordTenantPlugins(client: pg.ClientBase, plugins: LoadedPlugin[], tenantIds: string[], { enableNewPlugins = true }: RegistryOptions = {}): Promise<void> {
  for (const { meta } of plugins) {
    await client.query(
      `INSERT INTO public.sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed)
       SELECT unnest($1::uuid[]), $2, $3, $4
       ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET version_installed = EXCLUDED.version_installed, updated_at = now()
         WHERE sys_tenant_plugins.version_installed IS DISTINCT FROM EXCLUDED.version_installed`,
      [tenantIds, meta.id, enableNewPlugins, meta.version]);
  }
}
