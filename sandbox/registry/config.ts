/**
 * Plugin configuration stored as JSON in the registries: `sys_plugins.config` and
 * `sys_tenant_plugins.config`. Called inside a tenant transaction, it reads on that transaction's
 * connection (never a second one from the pool: see `currentConnection`).
 */
import type pg from 'pg';
import type { ConfigCapability } from '../contract.ts';
import { currentConnection, type Tenancy } from '../data/tenancy.ts';

/** A key is a plain name: a NUL or a huge string would only reach PostgreSQL to be refused there. */
function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 200 || /[\x00-\x1f\x7f]/.test(key)) {
    throw new TypeError(`A config key must be 1–200 printable characters (got ${JSON.stringify(key)}).`);
  }
  return key;
}

export function pluginConfig(pool: pg.Pool, tenancy: Tenancy, pluginId: string): ConfigCapability {
  return {
    async getGlobal<T>(key: string) {
      const { rows } = await currentConnection(pool).query<{ value: T | null }>(
        'SELECT config -> $2 AS value FROM public.sys_plugins WHERE plugin_id = $1', [pluginId, checkKey(key)]);
      return rows[0]?.value ?? undefined;
    },
    async getTenant<T>(tenantReference: string, key: string) {
      checkKey(key);
      const { id } = await tenancy.get(tenantReference);
      const { rows } = await currentConnection(pool).query<{ value: T | null }>(
        'SELECT config -> $3 AS value FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2', [pluginId, id, key]);
      return rows[0]?.value ?? undefined;
    },
  };
}
