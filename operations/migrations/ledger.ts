/**
 * The ledger, `public.sys_plugin_migrations`: which file of which plugin ran in which schema, with
 * its checksum. It lives in the database whose schemas it describes, so a shard keeps its own.
 *
 * `readLedgerDiff` is the whole of a no-op: one set-based query compares every expected file of
 * every target with the ledger (checksums included) and returns only what differs.
 */
import type pg from 'pg';
import { KIT_TENANT_TABLE, tenantRowsSql, type TenantDirectory } from '../../foundation-lib/tenant-directory.ts';
import { CHECKSUM_ALGORITHM, type MigrationScope } from './files.ts';

/** One expected file of one plugin, as the plan query receives it. */
export interface ExpectedFile {
  pluginId: string;
  scope: MigrationScope;
  name: string;
  number: number;
  checksum: string;
}

/** A (target, file) whose ledger row is missing (pending) or holds another checksum (changed). */
export interface LedgerDifference {
  pluginId: string;
  scope: MigrationScope;
  tenantId: string | null;
  tenantCode: string | null;
  schema: string;
  name: string;
  /** The checksum the ledger holds; null when the file never ran there. */
  recorded: string | null;
}

/** A ledger row whose file is not among the expected ones (deleted or renamed after it ran). */
export interface UnknownApplied {
  pluginId: string;
  scope: MigrationScope;
  name: string;
  targets: number;
}

export interface LedgerDiff {
  /** Whether the ledger table exists (false: a database the runner never wrote to). */
  ledger: boolean;
  /** Tenants the targets cover (after the tenant filter). */
  tenants: { id: string; code: string; schema: string; exists: boolean }[];
  differences: LedgerDifference[];
  unknownApplied: UnknownApplied[];
  quarantined: { pluginId: string; schema: string; failures: number; error: string | null }[];
  /** (plugin, tenant) pairs left out because the plugin was uninstalled there (`sys_tenant_plugin_uninstalls`). */
  uninstalled: number;
}

/**
 * Compares `expected` with the ledger for the public target and every tenant (or those in
 * `tenantCodes`), in one query. A database without the ledger yet counts as an empty ledger: a
 * dry run must not create it.
 */
export async function readLedgerDiff(db: pg.Pool | pg.ClientBase, expected: ExpectedFile[], tenantCodes?: string[], directory: TenantDirectory = KIT_TENANT_TABLE): Promise<LedgerDiff> {
  const tenantRows = tenantRowsSql(directory);
  const params = [
    expected.map((e) => e.pluginId), expected.map((e) => e.scope), expected.map((e) => e.name), expected.map((e) => e.checksum),
    tenantCodes ?? null, [...new Set(expected.map((e) => e.pluginId))],
  ];
  try {
    const { rows } = await db.query<{ result: LedgerDiff }>(diffQuery({ quarantine: true, uninstalls: true }, tenantRows), params);
    return { ...rows[0]!.result, ledger: true };
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01') throw error; // undefined_table
  }
  // A database the runner never wrote to (no ledger), or one of an older kit (no quarantine or uninstall table).
  const { rows: present } = await db.query<{ ledger: boolean; quarantine: boolean; uninstalls: boolean }>(
    `SELECT to_regclass('public.sys_plugin_migrations') IS NOT NULL AS ledger, to_regclass('public.sys_migration_quarantine') IS NOT NULL AS quarantine,
            to_regclass('public.sys_tenant_plugin_uninstalls') IS NOT NULL AS uninstalls`);
  if (present[0]!.ledger) {
    const { rows } = await db.query<{ result: LedgerDiff }>(diffQuery(present[0]!, tenantRows), params);
    return { ...rows[0]!.result, ledger: true };
  }
  {
    const { rows } = await db.query<{ result: LedgerDiff['tenants'] }>(tenantsWithoutLedger(tenantRows), [tenantCodes ?? null]).catch(() => ({ rows: [{ result: [] }] }));
    const tenants = rows[0]!.result;
    const targets = [{ tenantId: null, tenantCode: null, schema: 'public', scope: 'public' as const }, ...tenants.map((t) => ({ tenantId: t.id, tenantCode: t.code, schema: t.schema, scope: 'tenant' as const }))];
    const differences = targets.flatMap((target) => expected.filter((e) => e.scope === target.scope).map((e) => ({
      pluginId: e.pluginId, scope: e.scope, tenantId: target.tenantId, tenantCode: target.tenantCode, schema: target.schema, name: e.name, recorded: null,
    })));
    return { ledger: false, tenants, differences, unknownApplied: [], quarantined: [], uninstalled: 0 };
  }
}

const diffQuery = (tables: { quarantine: boolean; uninstalls: boolean }, tenantRows: string) => /* sql */ `
WITH expected AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS e(plugin_id, scope, name, checksum)
), tenants AS (
  SELECT t.id, t.code, t.schema_name, EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = t.schema_name) AS schema_exists
    FROM (${tenantRows}) t WHERE $5::text[] IS NULL OR t.code = ANY($5::text[])
), uninstalled AS (
  ${tables.uninstalls ? /* sql */ `SELECT u.tenant_id, u.plugin_id FROM public.sys_tenant_plugin_uninstalls u
   WHERE u.plugin_id = ANY($6::text[]) AND u.tenant_id IN (SELECT id FROM tenants)` : 'SELECT NULL::uuid AS tenant_id, NULL::text AS plugin_id WHERE false'}
)
SELECT json_build_object(
  'tenants', (SELECT coalesce(json_agg(json_build_object('id', id, 'code', code, 'schema', schema_name, 'exists', schema_exists) ORDER BY code), '[]') FROM tenants),
  -- Public and tenant rows apart: a join on plain equality (hashable); IS NOT DISTINCT FROM on
  -- tenant_id would make it a nested loop over tenants × ledger rows.
  'differences', (SELECT coalesce(json_agg(json_build_object(
      'pluginId', d.plugin_id, 'scope', d.scope, 'tenantId', d.tenant_id, 'tenantCode', d.code, 'schema', d.schema_name,
      'name', d.name, 'recorded', d.recorded)), '[]')
    FROM (
      SELECT e.plugin_id, e.scope, NULL::uuid AS tenant_id, NULL::text AS code, 'public'::text AS schema_name, e.name, m.checksum AS recorded
        FROM expected e
        LEFT JOIN public.sys_plugin_migrations m ON m.tenant_id IS NULL AND m.scope = 'public' AND m.plugin_id = e.plugin_id AND m.name = e.name
       WHERE e.scope = 'public' AND m.checksum IS DISTINCT FROM e.checksum
      UNION ALL
      SELECT e.plugin_id, e.scope, t.id, t.code, t.schema_name, e.name, m.checksum
        FROM tenants t CROSS JOIN expected e
        LEFT JOIN public.sys_plugin_migrations m ON m.tenant_id = t.id AND m.scope = 'tenant' AND m.plugin_id = e.plugin_id AND m.name = e.name
       WHERE e.scope = 'tenant' AND m.checksum IS DISTINCT FROM e.checksum
         AND NOT EXISTS (SELECT 1 FROM uninstalled u WHERE u.tenant_id = t.id AND u.plugin_id = e.plugin_id)
    ) d),
  'uninstalled', (SELECT count(*) FROM uninstalled),
  'unknownApplied', (SELECT coalesce(json_agg(u), '[]') FROM (
      SELECT m.plugin_id AS "pluginId", m.scope::text AS scope, m.name, count(*) AS targets
        FROM public.sys_plugin_migrations m
       WHERE m.plugin_id = ANY($6::text[])
         AND NOT EXISTS (SELECT 1 FROM expected e WHERE e.plugin_id = m.plugin_id AND e.scope = m.scope::text AND e.name = m.name)
         AND (m.tenant_id IS NULL OR m.tenant_id IN (SELECT id FROM tenants))
       GROUP BY 1, 2, 3) u),
  'quarantined', ${tables.quarantine ? /* sql */ `(SELECT coalesce(json_agg(json_build_object('pluginId', q.plugin_id, 'schema', q.schema_name, 'failures', q.failures, 'error', q.error)), '[]')
    FROM public.sys_migration_quarantine q
   WHERE q.quarantined_at IS NOT NULL AND q.plugin_id = ANY($6::text[])
     AND (q.schema_name = 'public' OR q.schema_name IN (SELECT schema_name FROM tenants)))` : `'[]'::json`}
) AS result`;

const tenantsWithoutLedger = (tenantRows: string) => /* sql */ `
SELECT coalesce(json_agg(json_build_object('id', t.id, 'code', t.code, 'schema', t.schema_name,
  'exists', EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = t.schema_name)) ORDER BY t.code), '[]') AS result
  FROM (${tenantRows}) t WHERE $1::text[] IS NULL OR t.code = ANY($1::text[])`;

/**
 * `tenant_id = $n`, or `tenant_id IS NULL` for the public target: plain equality lets the unique
 * index serve each lookup (IS NOT DISTINCT FROM would scan the whole ledger, once per tenant).
 */
function tenantCondition(tenantId: string | null, param: number): { sql: string; params: unknown[] } {
  return tenantId === null ? { sql: 'tenant_id IS NULL', params: [] } : { sql: `tenant_id = $${param}::uuid`, params: [tenantId] };
}

/** The checksum recorded for one file in one target (inside the file's transaction, under its lock). */
export async function recordedChecksum(client: pg.ClientBase | pg.Pool, key: LedgerKey): Promise<string | null> {
  const tenant = tenantCondition(key.tenantId, 4);
  const { rows } = await client.query<{ checksum: string }>(
    `SELECT checksum FROM public.sys_plugin_migrations WHERE plugin_id = $1 AND scope = $2 AND name = $3 AND ${tenant.sql}`,
    [key.pluginId, key.scope, key.name, ...tenant.params]);
  return rows[0]?.checksum ?? null;
}

export interface LedgerKey {
  pluginId: string;
  scope: MigrationScope;
  tenantId: string | null;
  name: string;
}

export async function recordApplied(client: pg.ClientBase, key: LedgerKey, row: { version: string; checksum: string; runId: string | null; executionMs: number }): Promise<void> {
  await client.query(
    `INSERT INTO public.sys_plugin_migrations (plugin_id, scope, tenant_id, name, version, checksum, checksum_algorithm, run_id, execution_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [key.pluginId, key.scope, key.tenantId, key.name, row.version, row.checksum, CHECKSUM_ALGORITHM, row.runId, row.executionMs]);
}

export async function removeApplied(client: pg.ClientBase, key: LedgerKey): Promise<void> {
  const tenant = tenantCondition(key.tenantId, 4);
  await client.query(
    `DELETE FROM public.sys_plugin_migrations WHERE plugin_id = $1 AND scope = $2 AND name = $3 AND ${tenant.sql}`,
    [key.pluginId, key.scope, key.name, ...tenant.params]);
}
