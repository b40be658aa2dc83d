/** Plugin configuration stored as JSON in the registries: `sys_plugins.config` and `sys_tenant_plugins.config`. */
import type pg from 'pg';
import type { ConfigCapability } from './contract.ts';

export function pluginConfig(pool: pg.Pool, pluginId: string): ConfigCapability {
  return {
    async getGlobal<T>(key: string) {
      const { rows } = await pool.query<{ value: T | null }>(
        'SELECT config -> $2 AS value FROM public.sys_plugins WHERE plugin_id = $1', [pluginId, key]);
      return rows[0]?.value ?? undefined;
    },
    async getTenant<T>(tenantId: string, key: string) {
      const { rows } = await pool.query<{ value: T | null }>(
        'SELECT config -> $3 AS value FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id::text = $2', [pluginId, tenantId, key]);
      return rows[0]?.value ?? undefined;
    },
  };
}
