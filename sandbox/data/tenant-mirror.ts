/**
 * A foundation's tenants mirrored into `sys_tenant`, which the kit's registries and migration
 * ledger refer to. The foundation's table (foundation-lib/tenant-directory.ts) stays the truth:
 * every operator command that writes refreshes the mirror first, in one transaction, so a tenant
 * the foundation created is there and one it dropped is gone (with its ledger rows and
 * enablement, as `tenants drop` does in the sandbox). The sandbox, whose tenant table is
 * `sys_tenant` itself, has nothing to mirror.
 */
import type pg from 'pg';
import { isKitTenantTable, tenantRowsSql, type TenantDirectory } from '../../foundation-lib/tenant-directory.ts';
import { beginStatement } from './connection-mode.ts';
import { ensureSystemSchemaLocked } from './system-schema.ts';

export interface MirrorReport {
  /** Tenants now in the mirror. */
  tenants: number;
  added: string[];
  removed: string[];
}

/** Advisory lock key of the mirror's refresh: two commands at once refresh one after the other. "fmmirr". */
const MIRROR_LOCK_KEY = 0x666d6d697272n;

export class TenantMirrorError extends Error {
  override name = 'TenantMirrorError';
}

/** Brings `sys_tenant` in line with the foundation's tenant table. Nothing to do (null) for the kit's own table. */
export async function refreshTenantMirror(pool: pg.Pool, directory: TenantDirectory): Promise<MirrorReport | null> {
  if (isKitTenantTable(directory)) return null;
  await ensureSystemSchemaLocked(pool);
  const tenants = tenantRowsSql(directory);
  const client = await pool.connect();
  try {
    await client.query(beginStatement(client));
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIRROR_LOCK_KEY.toString()]);
    const source = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${tenants}) t`).catch((error: Error & { code?: string }) => {
      throw new TenantMirrorError(`Could not read the foundation's tenants from ${directory.table} (${error.message}). Check tenantTable in the bindings file: table ${directory.table}, columns ${[directory.id, directory.code, directory.schema, directory.domain].filter(Boolean).join(', ')}.`);
    });
    const { rows: [mirrored] } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM public.sys_tenant');
    // An empty answer from a table that had tenants is far likelier a wrong tenantTable than every tenant dropped at once.
    if (source.rows[0]!.n === 0 && mirrored!.n > 0) {
      throw new TenantMirrorError(`${directory.table} lists no tenant, but the kit knows ${mirrored!.n}: nothing was changed. If the foundation really has no tenants left, remove them from public.sys_tenant yourself.`);
    }
    const { rows: removed } = await client.query<{ code: string }>(
      `DELETE FROM public.sys_tenant m WHERE NOT EXISTS (SELECT 1 FROM (${tenants}) t WHERE t.id = m.id) RETURNING m.code`);
    const { rows: upserted } = await client.query<{ code: string; added: boolean }>(
      `INSERT INTO public.sys_tenant AS m (id, code, name, domain, schema_name)
       SELECT t.id, t.code, t.code, CASE WHEN lower(t.domain) ~ '^[a-z0-9.-]{1,253}$' THEN lower(t.domain) END, t.schema_name FROM (${tenants}) t
       ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, domain = EXCLUDED.domain, schema_name = EXCLUDED.schema_name
         WHERE (m.code, m.domain, m.schema_name) IS DISTINCT FROM (EXCLUDED.code, EXCLUDED.domain, EXCLUDED.schema_name)
       RETURNING m.code, (xmax = 0) AS added`).catch((error: Error & { code?: string; detail?: string }) => {
      if (error.code !== '23505') throw error;
      throw new TenantMirrorError(`Two of the foundation's tenants map to the same kit tenant (${error.detail ?? error.message}): give them distinct codes (the code column of tenantTable) and host names.`);
    });
    const { rows: [total] } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM public.sys_tenant');
    await client.query('COMMIT');
    return {
      tenants: total!.n,
      added: upserted.filter((row) => row.added).map((row) => row.code),
      removed: removed.map((row) => row.code),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
