/**
 * The kit's registries read from a foundation at run time: whether a plugin is on for a tenant,
 * and globally (the kill switch; `foundation-module plugins enable|disable`), its configuration (`plugins config`), the
 * foundation's tenants from its own table (for `resolveTenant` and cron), and where cron's run
 * locks connect. The bindings spread these into their own:
 *
 *   const bindings = { ...kitRegistries(() => pool, tenantTable), withTenantTx, requirePermission, identity, logger };
 *
 * The registries key tenants by the kit's uuid (tenant-directory.ts maps the foundation's ids).
 * A foundation that never ran the kit's `migrate` has no registries: every plugin is on.
 *
 * Vendored as it is: imports only the library beside it and pg's types.
 */
import type pg from 'pg';
import type { TenantInfo } from 'create-foundation-module/contract';
import type { FoundationBindings } from './plugin-router.ts';
import { checkTenantDirectory, kitTenantIdSql, tenantRowsSql, type TenantDirectory } from './tenant-directory.ts';

export interface RegistryOptions {
  /** How long an enablement answer is reused: a switch made elsewhere takes effect within this. @default 1000 */
  enablementTtlMs?: number;
}

export type KitRegistries = Pick<FoundationBindings, 'isEnabled' | 'isEnabledGlobally' | 'resolveTenant' | 'config' | 'listTenants' | 'cronLockConnection'>;

/** `tenantTable`: the foundation's tenant table, as the bindings declare it (checked here: only names reach SQL). */
export function kitRegistries(pool: () => pg.Pool, tenantTable: TenantDirectory, options: RegistryOptions = {}): KitRegistries {
  const directory = checkTenantDirectory(tenantTable, 'bindings.ts: tenantTable');
  const ttl = options.enablementTtlMs ?? 1_000;
  const enablement = new Map<string, { enabled: boolean; until: number }>();
  const tenants = tenantRowsSql(directory);

  /** `tenantId` null: the global switch (the kill switch) alone. */
  async function cachedEnablement(pluginId: string, tenantId: string | null): Promise<boolean> {
    // A tenant id never holds NUL, so the global key can't meet a tenant's.
    const key = tenantId === null ? `${pluginId}\u0000\u0000global` : `${pluginId}\u0000${tenantId}`;
    const cached = enablement.get(key);
    if (cached && cached.until > Date.now()) return cached.enabled;
    const enabled = await registryEnablement(pool(), pluginId, tenantId);
    // Bounded: tenant ids come from the foundation's auth and from plugins, but one entry per (plugin, tenant) is all a foundation needs.
    if (enablement.size > 10_000) enablement.clear();
    enablement.set(key, { enabled, until: Date.now() + ttl });
    return enabled;
  }

  return {
    isEnabled: (pluginId, tenantId) => cachedEnablement(pluginId, tenantId),
    isEnabledGlobally: (pluginId) => cachedEnablement(pluginId, null),

    async listTenants() {
      const { rows } = await pool().query<{ foundation_id: string }>(`SELECT foundation_id FROM (${tenants}) t ORDER BY foundation_id`);
      return rows.map((row) => row.foundation_id);
    },

    // The pool's own settings: the same database, user and timeouts, on a session of its own.
    cronLockConnection: () => ({ ...(pool().options as pg.ClientConfig) }),

    async resolveTenant(query): Promise<TenantInfo | null> {
      const [column, value] = 'code' in query ? ['code', query.code] : ['domain', query.domain.toLowerCase()];
      const { rows } = await pool().query<TenantInfo>(
        `SELECT foundation_id AS id, code, code AS name, domain, schema_name AS schema FROM (${tenants}) t WHERE t.${column} = $1 LIMIT 1`, [value]);
      return rows[0] ?? null;
    },

    config: {
      async getGlobal(pluginId, key) {
        const { rows } = await pool().query('SELECT config -> $2 AS value FROM public.sys_plugins WHERE plugin_id = $1', [pluginId, key]).catch(absentRegistries);
        return rows[0]?.value ?? undefined;
      },
      async getTenant(pluginId, tenantId, key) {
        const { rows } = await pool().query(
          `SELECT config -> $3 AS value FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = ${kitTenantIdSql('$2::text')}`, [pluginId, tenantId, key]).catch(absentRegistries);
        return rows[0]?.value ?? undefined;
      },
    },
  };
}

/** On globally and, when `tenantId` is given, for that tenant; a plugin without its `sys_plugins` row (never migrated here) is off. */
async function registryEnablement(db: pg.Pool, pluginId: string, tenantId: string | null): Promise<boolean> {
  const { rows: [registries] } = await db.query<{ present: boolean }>("SELECT to_regclass('public.sys_tenant_plugins') IS NOT NULL AS present");
  if (!registries?.present) return true;
  if (tenantId === null) {
    const { rows } = await db.query<{ enabled: boolean }>('SELECT enabled_global AS enabled FROM public.sys_plugins WHERE plugin_id = $1', [pluginId]);
    return rows[0]?.enabled ?? false;
  }
  const { rows } = await db.query<{ enabled: boolean }>(
    `SELECT p.enabled_global AND coalesce(t.enabled, false) AS enabled
       FROM public.sys_plugins p LEFT JOIN public.sys_tenant_plugins t ON t.plugin_id = p.plugin_id AND t.tenant_id = ${kitTenantIdSql('$2::text')}
      WHERE p.plugin_id = $1`, [pluginId, tenantId]);
  return rows[0]?.enabled ?? false;
}

/** No registries yet (the kit's `migrate` never ran here): no configuration stored. */
function absentRegistries(error: { code?: string }): { rows: { value?: unknown }[] } {
  if (error.code === '42P01') return { rows: [] };
  throw error;
}
