/**
 * Yours: `foundation-module vendor` writes this file once, when it vendors the first module into
 * this foundation, and never rewrites it. It says where the contract's pieces come from in this
 * foundation; every vendored module's adapter (src/modules/<id>/server/routes/index.ts) uses it.
 * The imports below are the seeds' paths: change them, and the functions under them, to match
 * this foundation (its auth's claim names, its tenant table). Nothing else needs an edit.
 * docs/vendoring.md explains each entry.
 */
import type { Request } from 'express';
import type pg from 'pg';
import type { RequestIdentity, TenantInfo } from './contract.ts';
import type { FoundationBindings } from './plugin-router.ts';
import { pool } from '../db/client.ts';
import { withTenantTx } from '../db/tenant-db.ts';
import { requirePermission } from '../security/rbac.ts';

/** How long an enablement answer is reused: a switch made elsewhere takes effect within this. */
const ENABLEMENT_TTL_MS = 1_000;
const enablement = new Map<string, { enabled: boolean; until: number }>();

const bindings: FoundationBindings = {
  withTenantTx,
  requirePermission,

  /** The caller as this foundation's auth middleware left it on the request. */
  identity(req: Request): RequestIdentity | undefined {
    const user = (req as Request & { user?: { id?: string; tenantId?: string } }).user;
    return user?.id && user.tenantId ? { userId: user.id, tenantId: user.tenantId } : undefined;
  },

  /** The kit's registries (`foundation-module plugins enable|disable`); a foundation without them enables every module. */
  async isEnabled(pluginId, tenantId) {
    const key = `${pluginId}\u0000${tenantId}`;
    const cached = enablement.get(key);
    if (cached && cached.until > Date.now()) return cached.enabled;
    const enabled = await registryEnablement(pool, pluginId, tenantId);
    enablement.set(key, { enabled, until: Date.now() + ENABLEMENT_TTL_MS });
    return enabled;
  },

  async resolveTenant(query): Promise<TenantInfo | null> {
    const [column, value] = 'code' in query ? ['code', query.code] : ['domain', query.domain];
    const { rows } = await pool.query<TenantInfo>(
      `SELECT id::text, code, name, domain, schema_name AS schema FROM public.sys_tenant WHERE ${column} = $1`, [value]);
    return rows[0] ?? null;
  },

  config: {
    async getGlobal(pluginId, key) {
      const { rows } = await pool.query('SELECT config -> $2 AS value FROM public.sys_plugins WHERE plugin_id = $1', [pluginId, key]);
      return rows[0]?.value ?? undefined;
    },
    async getTenant(pluginId, tenantId, key) {
      const { rows } = await pool.query('SELECT config -> $3 AS value FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2', [pluginId, tenantId, key]);
      return rows[0]?.value ?? undefined;
    },
  },

  logger: {
    debug: (fields, msg) => console.debug(JSON.stringify({ level: 'debug', msg, ...fields })),
    info: (fields, msg) => console.log(JSON.stringify({ level: 'info', msg, ...fields })),
    warn: (fields, msg) => console.warn(JSON.stringify({ level: 'warn', msg, ...fields })),
    error: (fields, msg) => console.error(JSON.stringify({ level: 'error', msg, ...fields, err: fields.err instanceof Error ? fields.err.stack : fields.err })),
  },
};

async function registryEnablement(db: pg.Pool, pluginId: string, tenantId: string): Promise<boolean> {
  const { rows: [registries] } = await db.query<{ present: boolean }>("SELECT to_regclass('public.sys_tenant_plugins') IS NOT NULL AS present");
  if (!registries?.present) return true;
  const { rows } = await db.query<{ enabled: boolean }>(
    `SELECT p.enabled_global AND coalesce(t.enabled, false) AS enabled
       FROM public.sys_plugins p LEFT JOIN public.sys_tenant_plugins t ON t.plugin_id = p.plugin_id AND t.tenant_id = $2
      WHERE p.plugin_id = $1`, [pluginId, tenantId]);
  return rows[0]?.enabled ?? false;
}

export default bindings;
