/** Plugin configuration stored as JSON in the registries: `sys_plugins.config` and `sys_tenant_plugins.config`. */
import type pg from 'pg';
import type { ConfigCapability } from './contract.ts';
import type { Tenancy } from './tenancy.ts';

export function pluginConfig(pool: pg.Pool, tenancy: Tenancy, pluginId: string): ConfigCapability {
  return {
    async getGlobal<T>(key: string) {
      const { rows } = await pool.query<{ value: T | null }>(
        'SELECT config -> $2 AS value FROM public.sys_plugins WHERE plugin_id = $1', [pluginId, key]);
      return rows[0]?.value ?? undefined;
    },
    async getTenant<T>(tenantIdOrCode: string, key: string) {
      const { id } = await tenancy.get(tenantIdOrCode);
      const { rows } = await pool.query<{ value: T | null }>(
        'SELECT config -> $3 AS value FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2', [pluginId, id, key]);
      return rows[0]?.value ?? undefined;
    },
  };
}
