/**
 * Plugins × tenants, as an operator pages through them: for each tenant, each plugin's enablement,
 * installed version, revision (what a versioned write compares) and migration state, with the
 * filters applied in SQL (plugin state, version, migration state, a search on code and name) and
 * keyset paging by tenant code, so that a page costs the same at tenant 9,900 as at tenant 1.
 */
import type pg from 'pg';
import type { ModuleMigrations } from '../migrations/plan.ts';

export type TenantPluginState = 'enabled' | 'disabled' | 'not-installed';
/** `applied`: every tenant migration of the module is in the ledger; `failed`: the last run failed there; `quarantined`: failed too often, skipped until retried. */
export type TenantMigrationState = 'applied' | 'pending' | 'failed' | 'quarantined';

export interface TenantGridFilter {
  /** The plugin the state, version and migration filters are about. */
  plugin?: string;
  state?: TenantPluginState;
  version?: string;
  migration?: TenantMigrationState;
  /** Part of the tenant's code or name, any case. */
  search?: string;
}

export interface TenantPluginCell {
  state: TenantPluginState;
  version: string | null;
  /** 0 where the plugin has no row for the tenant yet. */
  revision: number;
  updatedBy: string | null;
  updatedAt: string | null;
  migration: { state: TenantMigrationState; pending?: number; file?: string | null; error?: string | null; failures?: number };
}

export interface TenantGridRow {
  id: string;
  code: string;
  name: string;
  plugins: Record<string, TenantPluginCell>;
}

export interface TenantGridPage {
  rows: TenantGridRow[];
  /** Tenants matching the filter, all pages together. */
  total: number;
  /** The `after` of the next page; absent on the last one. */
  next?: string;
}

export const MAX_GRID_PAGE = 500;

/**
 * One page of tenants with the cells of `modules` (the plugins this host runs), filtered by
 * `filter`, after the tenant code `after`.
 */
export async function readTenantGrid(db: pg.Pool | pg.ClientBase, modules: ModuleMigrations[], filter: TenantGridFilter, { after, limit = 100 }: { after?: string; limit?: number } = {}): Promise<TenantGridPage> {
  const size = Math.min(Math.max(1, Math.trunc(limit)), MAX_GRID_PAGE);
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  const conditions = tenantConditions(modules, filter, param);
  const matching = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const { rows: counted } = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM public.sys_tenant t ${matching}`, [...params]);
  const total = counted[0]!.total;
  const pageConditions = after === undefined ? matching : `${matching ? `${matching} AND` : 'WHERE'} t.code > ${param(after)}`;
  const { rows: tenants } = await db.query<{ id: string; code: string; name: string }>(
    `SELECT t.id::text AS id, t.code, t.name FROM public.sys_tenant t ${pageConditions} ORDER BY t.code LIMIT ${size + 1}`, params);
  const page = tenants.slice(0, size);
  const cells = await readCells(db, modules, page.map((t) => t.id));
  const rows = page.map((t) => ({ ...t, plugins: Object.fromEntries(modules.map((m) => [m.id, cells.get(`${t.id}\0${m.id}`) ?? notInstalled(m, [])])) }));
  return tenants.length > size ? { rows, total, next: page.at(-1)!.code } : { rows, total };
}

interface CellRow {
  tenant_id: string;
  plugin_id: string;
  enabled: boolean | null;
  version_installed: string | null;
  revision: number | null;
  updated_by: string | null;
  updated_at: string | null;
  applied: string[];
  failures: number | null;
  quarantined: boolean | null;
  file: string | null;
  error: string | null;
}

/** The cells of a page: one query for every (tenant, plugin) pair of it. */
async function readCells(db: pg.Pool | pg.ClientBase, modules: ModuleMigrations[], tenantIds: string[]): Promise<Map<string, TenantPluginCell>> {
  const cells = new Map<string, TenantPluginCell>();
  if (tenantIds.length === 0 || modules.length === 0) return cells;
  const { rows } = await db.query<CellRow>(
    `SELECT t.id::text AS tenant_id, p.id AS plugin_id, tp.enabled, tp.version_installed, tp.revision::int AS revision, tp.updated_by,
            to_char(tp.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at,
            coalesce((SELECT array_agg(m.name) FROM public.sys_plugin_migrations m WHERE m.plugin_id = p.id AND m.scope = 'tenant' AND m.tenant_id = t.id), '{}') AS applied,
            q.failures, q.quarantined_at IS NOT NULL AS quarantined, q.file, q.error
       FROM unnest($1::uuid[]) AS t(id) CROSS JOIN unnest($2::text[]) AS p(id)
       LEFT JOIN public.sys_tenant_plugins tp ON tp.tenant_id = t.id AND tp.plugin_id = p.id
       LEFT JOIN public.sys_migration_quarantine q ON q.plugin_id = p.id AND q.tenant_id = t.id`,
    [tenantIds, modules.map((m) => m.id)]);
  for (const row of rows) {
    const module = modules.find((m) => m.id === row.plugin_id)!;
    const pending = module.files.tenant.filter((f) => !row.applied.includes(f.name)).length;
    const migration: TenantPluginCell['migration'] = row.failures !== null
      ? { state: row.quarantined ? 'quarantined' : 'failed', file: row.file, error: row.error, failures: row.failures, pending }
      : pending > 0 ? { state: 'pending', pending } : { state: 'applied' };
    cells.set(`${row.tenant_id}\0${row.plugin_id}`, row.enabled === null ? notInstalled(module, row.applied) : {
      state: row.enabled ? 'enabled' : 'disabled', version: row.version_installed, revision: row.revision ?? 0,
      updatedBy: row.updated_by, updatedAt: row.updated_at, migration,
    });
    if (row.enabled === null) cells.get(`${row.tenant_id}\0${row.plugin_id}`)!.migration = migration;
  }
  return cells;
}

function notInstalled(module: ModuleMigrations, applied: string[]): TenantPluginCell {
  const pending = module.files.tenant.filter((f) => !applied.includes(f.name)).length;
  return { state: 'not-installed', version: null, revision: 0, updatedBy: null, updatedAt: null, migration: pending > 0 ? { state: 'pending', pending } : { state: 'applied' } };
}

/**
 * SQL conditions on `sys_tenant t` for `filter`, its values added through `param` (which returns
 * the placeholder): what the grid pages through, and what a bulk job picks its tenants by.
 */
export function tenantConditions(modules: ModuleMigrations[], filter: TenantGridFilter, param: (value: unknown) => string): string[] {
  const conditions: string[] = [];
  if (filter.search) {
    const pattern = param(`%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    conditions.push(`(t.code ILIKE ${pattern} OR t.name ILIKE ${pattern})`);
  }
  const target = filter.plugin === undefined ? undefined : modules.find((m) => m.id === filter.plugin);
  if (filter.plugin !== undefined && (filter.state || filter.version || filter.migration)) {
    const plugin = param(filter.plugin);
    // Scalar subqueries and EXISTS: a composite row IS NOT NULL only when every column is.
    const row = `FROM public.sys_tenant_plugins tp WHERE tp.tenant_id = t.id AND tp.plugin_id = ${plugin}`;
    if (filter.state === 'enabled') conditions.push(`EXISTS (SELECT 1 ${row} AND tp.enabled)`);
    if (filter.state === 'disabled') conditions.push(`EXISTS (SELECT 1 ${row} AND NOT tp.enabled)`);
    if (filter.state === 'not-installed') conditions.push(`NOT EXISTS (SELECT 1 ${row})`);
    if (filter.version !== undefined) conditions.push(`EXISTS (SELECT 1 ${row} AND tp.version_installed = ${param(filter.version)})`);
    if (filter.migration) {
      const quarantine = `FROM public.sys_migration_quarantine q WHERE q.plugin_id = ${plugin} AND q.tenant_id = t.id`;
      // Every statement must use each parameter it is given: the file list only where it is read.
      const pending = () => `EXISTS (SELECT 1 FROM unnest(${param((target?.files.tenant ?? []).map((f) => f.name))}::text[]) f(name) WHERE NOT EXISTS (
                          SELECT 1 FROM public.sys_plugin_migrations m WHERE m.plugin_id = ${plugin} AND m.scope = 'tenant' AND m.tenant_id = t.id AND m.name = f.name))`;
      conditions.push({
        quarantined: () => `EXISTS (SELECT 1 ${quarantine} AND q.quarantined_at IS NOT NULL)`,
        failed: () => `EXISTS (SELECT 1 ${quarantine} AND q.quarantined_at IS NULL)`,
        pending: () => `NOT EXISTS (SELECT 1 ${quarantine}) AND ${pending()}`,
        applied: () => `NOT EXISTS (SELECT 1 ${quarantine}) AND NOT ${pending()}`,
      }[filter.migration]());
    }
  }
  return conditions;
}
