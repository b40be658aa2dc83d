/**
 * Which plugin is on for which tenant: `sys_plugins.enabled_global` (the kill switch in the
 * database), `sys_tenant_plugins.enabled`, and the kill switch by environment variable. Read and
 * written here only: the HTTP gate asks `pluginEnablement`; the CLI (and an admin API) change it
 * with `enablePlugin` and `disablePlugin`, each write in one transaction with its notification.
 */
import type pg from 'pg';
import { tenantCodeProblem } from '../../rules/index.ts';
import { inTransaction } from '../../sandbox/data/database.ts';
import { ensureSystemSchemaLocked } from '../../sandbox/data/system-schema.ts';
import { planUp, type ModuleMigrations } from '../migrations/plan.ts';
import { runMigrations, type RunReport } from '../migrations/runner.ts';
import type { LoadedPlugin } from '../../sandbox/plugins/loader.ts';
import type { ModuleCatalog } from '../../sandbox/plugins/catalog.ts';
import type { KeptPermission } from './permission-catalog.ts';
import { PluginDowngradeError, refuseDowngrade } from './plugin-versions.ts';
import { expectRevision } from './revisions.ts';
import { recordCatalog, type RegistryOptions } from './plugins.ts';

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

/**
 * Marks each plugin as installed (and, when new, enabled) for each tenant at its current version;
 * not where it was uninstalled (`sys_tenant_plugin_uninstalls`): only `enablePlugin` undoes that.
 * Throws `PluginDowngradeError`, writing nothing, when the database has a newer version of one.
 */
export async function recordTenantPlugins(client: pg.ClientBase, plugins: LoadedPlugin[], tenantIds: string[], { enableNewPlugins = true }: RegistryOptions = {}): Promise<void> {
  // A sandbox still running an older copy of a module never records it over a newer one.
  for (const { meta, dir } of plugins) await refuseDowngrade(client, { id: meta.id, version: meta.version, dir });
  for (const { meta } of plugins) {
    await client.query(
      `INSERT INTO public.sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed)
       SELECT t.id, $2, $3, $4 FROM unnest($1::uuid[]) AS t(id)
        WHERE NOT EXISTS (SELECT 1 FROM public.sys_tenant_plugin_uninstalls u WHERE u.tenant_id = t.id AND u.plugin_id = $2)
       ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET version_installed = EXCLUDED.version_installed, updated_at = now(),
         -- A row at 0.0.0 was retired by a migrate down: installed again, it counts as new.
         enabled = CASE WHEN sys_tenant_plugins.version_installed = '0.0.0' THEN EXCLUDED.enabled ELSE sys_tenant_plugins.enabled END
         WHERE sys_tenant_plugins.version_installed IS DISTINCT FROM EXCLUDED.version_installed`,
      [tenantIds, meta.id, enableNewPlugins, meta.version]);
  }
}

export interface InstalledPlugin {
  pluginId: string;
  apiVersion: string;
  /** The version whose migrations are applied in public and every tenant (`0.0.0`: not yet everywhere). */
  versionInstalled: string;
  enabledGlobal: boolean;
  /** Tenants with a `sys_tenant_plugins` row, and those of them where it is enabled. */
  tenantsInstalled: number;
  tenantsEnabled: number;
}

/** A database the registry was never written to has no tables yet: reading it must not create them. */
async function hasSystemTables(db: pg.Pool | pg.ClientBase): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass('public.sys_tenant_plugins') IS NOT NULL AS ok`);
  return rows[0]!.ok;
}

/** Every plugin in `sys_plugins` (or only `pluginId`), by id; none when there are no system tables. */
export async function installedPlugins(db: pg.Pool | pg.ClientBase, pluginId?: string): Promise<InstalledPlugin[]> {
  if (!(await hasSystemTables(db))) return [];
  const { rows } = await db.query<InstalledPlugin>(
    `SELECT p.plugin_id AS "pluginId", p.api_version AS "apiVersion", p.version_installed AS "versionInstalled", p.enabled_global AS "enabledGlobal",
            count(tp.tenant_id)::int AS "tenantsInstalled", count(tp.tenant_id) FILTER (WHERE tp.enabled)::int AS "tenantsEnabled"
       FROM public.sys_plugins p LEFT JOIN public.sys_tenant_plugins tp ON tp.plugin_id = p.plugin_id
      WHERE $1::text IS NULL OR p.plugin_id = $1
      GROUP BY p.plugin_id ORDER BY p.plugin_id`, [pluginId ?? null]);
  return rows;
}

export interface PluginOverview extends InstalledPlugin {
  /** The global row's revision (0: not installed), with who changed it last and when. */
  revision: number;
  updatedBy: string | null;
  updatedAt: string | null;
}

/** Every installed plugin with its counts and its global row's revision; and how many tenants there are. */
export async function pluginsOverview(db: pg.Pool | pg.ClientBase): Promise<{ tenants: number; plugins: PluginOverview[] }> {
  const installed = await installedPlugins(db);
  if (installed.length === 0 && !(await hasSystemTables(db))) return { tenants: 0, plugins: [] };
  const { rows: revisions } = await db.query<{ plugin_id: string; revision: number; updated_by: string | null; updated_at: string }>(
    `SELECT plugin_id, revision::int AS revision, updated_by, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at FROM public.sys_plugins`);
  const { rows: counted } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.sys_tenant');
  return {
    tenants: counted[0]!.n,
    plugins: installed.map((plugin) => {
      const row = revisions.find((r) => r.plugin_id === plugin.pluginId);
      return { ...plugin, revision: row?.revision ?? 0, updatedBy: row?.updated_by ?? null, updatedAt: row?.updated_at ?? null };
    }),
  };
}

export interface TenantRef {
  id: string;
  code: string;
  schema: string;
}

/** The tenants named by code (in the order given), or every tenant; `unknown`: the codes no tenant has. */
export async function findTenants(db: pg.Pool | pg.ClientBase, codes: string[] | 'all'): Promise<{ tenants: TenantRef[]; unknown: string[] }> {
  const bad = codes === 'all' ? undefined : codes.find((code) => tenantCodeProblem(code));
  if (bad !== undefined) throw new Error(`${JSON.stringify(bad)} is not a tenant code: it ${tenantCodeProblem(bad)}.`);
  if (!(await hasSystemTables(db))) return { tenants: [], unknown: codes === 'all' ? [] : codes };
  const { rows } = await db.query<TenantRef>(
    `SELECT id::text AS id, code, schema_name AS schema FROM public.sys_tenant
      WHERE $1::text[] IS NULL OR code = ANY($1::text[]) ORDER BY code`, [codes === 'all' ? null : codes]);
  if (codes === 'all') return { tenants: rows, unknown: [] };
  const byCode = new Map(rows.map((t) => [t.code, t]));
  return { tenants: codes.flatMap((code) => byCode.get(code) ?? []), unknown: codes.filter((code) => !byCode.has(code)) };
}

export class EnablementError extends Error {
  override name = 'EnablementError';
}

export type TenantEnableState = 'enabled' | 'already-enabled' | 'not-ready';

export interface EnableReport {
  pluginId: string;
  version: string;
  /** The plugin had no `sys_plugins` row before: this call installed it. */
  newlyInstalled: boolean;
  /** `sys_plugins.enabled_global` afterwards (a tenant enable leaves it as it was). */
  enabledGlobal: boolean;
  versionInstalled: string;
  /** Tenant enables only: each tenant named. `not-ready`: its migrations did not complete, so it was left as it was. */
  tenants: (TenantRef & { state: TenantEnableState })[];
  migrations: RunReport;
  /** Permissions the module no longer declares, kept because tenants' roles grant them (registry/permission-catalog.ts). */
  keptPermissions: KeptPermission[];
  /** 0 done; 1 a migration failed or a target is blocked (or public is not ready); 3 lock contention or quarantine. */
  exitCode: 0 | 1 | 3;
}

export interface EnableOptions {
  pool: pg.Pool;
  /** The module as read from its folder (`readModuleMigrations`: its meta is checked there). */
  module: ModuleMigrations;
  /** Enable for these tenants (`all`: every tenant); leave out to switch the plugin on globally. */
  tenants?: TenantRef[] | 'all';
  /** Its permissions and role templates, recorded with the enablement (plugins/catalog.ts). @default none recorded */
  catalog?: ModuleCatalog;
  /** Passed to the migration runner. @default the runner's */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * The revision the caller read of the row it changes (the global row, or the one tenant's):
   * the enable is refused with StaleWriteError, changing nothing, when the row moved since.
   */
  expectedRevision?: number;
}

/**
 * Brings the plugin's migrations up to date where it is enabled (public, and the tenants named),
 * then records it. Upgrade order: public migrations, tenant migrations, then the versions recorded:
 * `sys_tenant_plugins.version_installed` of each tenant whose migrations completed, and
 * `sys_plugins.version_installed` once every target of the plugin is at the module's version.
 */
export async function enablePlugin({ pool, module, tenants, catalog, concurrency, signal, expectedRevision }: EnableOptions): Promise<EnableReport> {
  const guarded = expectedRevision === undefined ? undefined : revisionTarget(tenants, module.id);
  // Checked once before the migrations (a stale write runs none), and again under the lock that records it.
  if (guarded !== undefined) await withTransaction(pool, (client) => expectRevision(client, module.id, guarded, expectedRevision!));
  if (catalog && (catalog.id !== module.id || catalog.version !== module.version)) {
    const fix = catalog.source === 'manifest' ? `Write ${module.dir}'s module.manifest.json again for this version.` : 'Its plugin/index.ts and module.config.ts disagree.';
    throw new EnablementError(`The catalog read for plugin "${module.id}" ${module.version} is of "${catalog.id}" ${catalog.version} (from its ${catalog.source}): nothing done. ${fix}`);
  }
  const [before] = await installedPlugins(pool, module.id);
  // An older folder would record its version over a schema that is already further on.
  if (before) await refuseDowngrade(pool, module).catch((error) => {
    throw error instanceof PluginDowngradeError ? new EnablementError(error.message) : error;
  });
  await ensureSystemSchemaLocked(pool);
  // Named tenants where the plugin was uninstalled: this enable installs it there again.
  if (tenants !== undefined) {
    await pool.query('DELETE FROM public.sys_tenant_plugin_uninstalls WHERE plugin_id = $1 AND ($2::uuid[] IS NULL OR tenant_id = ANY($2::uuid[]))',
      [module.id, tenants === 'all' ? null : tenants.map((t) => t.id)]);
  }
  // Every tenant: the runner flips the version itself. A global enable migrates public only.
  const migrations = await runMigrations({
    pool, modules: [module], plugins: [module.id], concurrency, signal, tenants: tenants === undefined ? [] : tenants === 'all' ? undefined : tenants.map((t) => t.code),
  });
  const named = tenants === 'all' ? (await findTenants(pool, 'all')).tenants : tenants;

  // What is ready is read again rather than taken from the report: another runner may have done part of it.
  const plan = await planUp(pool, [module]);
  const publicReady = !plan.work.some((w) => w.target.scope === 'public');
  const pending = new Set(plan.work.map((w) => w.target.tenantId));
  const ready = named?.filter((t) => publicReady && !pending.has(t.id)) ?? [];

  const recorded = await withTransaction(pool, async (client) => {
    if (guarded !== undefined) await expectRevision(client, module.id, guarded, expectedRevision!);
    const { rows: [row] } = await client.query<{ enabled_global: boolean; version_installed: string }>(
      'SELECT enabled_global, version_installed FROM public.sys_plugins WHERE plugin_id = $1 FOR UPDATE', [module.id]);
    const global = named === undefined && publicReady;
    if (!row && (global || ready.length > 0)) {
      // The runner registers a plugin only when it had files to apply; a module without any gets its row here.
      await client.query(
        `INSERT INTO public.sys_plugins (plugin_id, api_version, version_installed, enabled_global) VALUES ($1, $2, '0.0.0', $3)`,
        [module.id, module.api, global]);
    } else if (row && global && !row.enabled_global) {
      await client.query('UPDATE public.sys_plugins SET enabled_global = true, updated_at = now() WHERE plugin_id = $1', [module.id]);
    }
    const { rows: previous } = await client.query<{ tenant_id: string; enabled: boolean; version_installed: string }>(
      `SELECT tenant_id::text, enabled, version_installed FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = ANY($2::uuid[]) FOR UPDATE`,
      [module.id, ready.map((t) => t.id)]);
    await client.query(
      `INSERT INTO public.sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed)
       SELECT unnest($1::uuid[]), $2, true, $3
       ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET enabled = true, version_installed = EXCLUDED.version_installed, updated_at = now()
         WHERE (sys_tenant_plugins.enabled, sys_tenant_plugins.version_installed) IS DISTINCT FROM (true, EXCLUDED.version_installed)`,
      [ready.map((t) => t.id), module.id, module.version]);
    // Last: the plugin's own version, only when no target anywhere is behind.
    if (plan.work.length === 0) {
      await client.query(
        `UPDATE public.sys_plugins SET version_installed = $2, api_version = $3, updated_at = now()
          WHERE plugin_id = $1 AND (version_installed, api_version) IS DISTINCT FROM ($2, $3)`, [module.id, module.version, module.api]);
    }
    const { rows: [after] } = await client.query<{ enabled_global: boolean; version_installed: string }>(
      'SELECT enabled_global, version_installed FROM public.sys_plugins WHERE plugin_id = $1', [module.id]);
    const keptPermissions = after && catalog ? await recordCatalog(client, catalog) : [];
    return { newlyInstalled: !before && after !== undefined, after, previous, keptPermissions };
  });

  const wasOn = new Set(recorded.previous.filter((p) => p.enabled && p.version_installed === module.version).map((p) => p.tenant_id));
  const readyIds = new Set(ready.map((t) => t.id));
  const notReady = (named ?? []).some((t) => !readyIds.has(t.id)) || !publicReady;
  return {
    pluginId: module.id, version: module.version, newlyInstalled: recorded.newlyInstalled,
    enabledGlobal: recorded.after?.enabled_global ?? false, versionInstalled: recorded.after?.version_installed ?? '0.0.0',
    tenants: (named ?? []).map((t) => ({ ...t, state: !readyIds.has(t.id) ? 'not-ready' : wasOn.has(t.id) ? 'already-enabled' : 'enabled' })),
    migrations, keptPermissions: recorded.keptPermissions, exitCode: migrations.exitCode !== 0 ? migrations.exitCode : notReady ? 1 : 0,
  };
}

export interface DisableReport {
  pluginId: string;
  /** Global disable: whether the kill switch was already pulled. */
  wasEnabledGlobal: boolean;
  enabledGlobal: boolean;
  /** Tenant disables only. `not-installed`: no row, so already off there (no row is added). */
  tenants: (TenantRef & { state: 'disabled' | 'already-disabled' | 'not-installed' })[];
}

/**
 * Switches the plugin off globally (the kill switch: every tenant, whatever its own row says) or
 * for the tenants named. Deletes nothing: enabling again restores each tenant as it was.
 * @returns undefined when the plugin is not installed (no `sys_plugins` row)
 */
export async function disablePlugin(pool: pg.Pool, pluginId: string, tenants?: TenantRef[], { expectedRevision }: { expectedRevision?: number } = {}): Promise<DisableReport | undefined> {
  if ((await installedPlugins(pool, pluginId)).length === 0) return undefined;
  await ensureSystemSchemaLocked(pool);
  const guarded = expectedRevision === undefined ? undefined : revisionTarget(tenants, pluginId);
  return withTransaction(pool, async (client) => {
    if (guarded !== undefined) await expectRevision(client, pluginId, guarded, expectedRevision!);
    const { rows: [row] } = await client.query<{ enabled_global: boolean }>('SELECT enabled_global FROM public.sys_plugins WHERE plugin_id = $1 FOR UPDATE', [pluginId]);
    if (!row) return undefined; // uninstalled meanwhile
    let states: DisableReport['tenants'] = [];
    if (tenants === undefined) {
      if (row.enabled_global) await client.query('UPDATE public.sys_plugins SET enabled_global = false, updated_at = now() WHERE plugin_id = $1', [pluginId]);
    } else {
      const { rows } = await client.query<{ tenant_id: string; enabled: boolean }>(
        `SELECT tenant_id::text, enabled FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = ANY($2::uuid[]) FOR UPDATE`,
        [pluginId, tenants.map((t) => t.id)]);
      const was = new Map(rows.map((r) => [r.tenant_id, r.enabled]));
      await client.query(
        `UPDATE public.sys_tenant_plugins SET enabled = false, updated_at = now() WHERE plugin_id = $1 AND tenant_id = ANY($2::uuid[]) AND enabled`,
        [pluginId, tenants.map((t) => t.id)]);
      states = tenants.map((t) => ({ ...t, state: !was.has(t.id) ? 'not-installed' : was.get(t.id) ? 'disabled' : 'already-disabled' }));
    }
    return { pluginId, wasEnabledGlobal: row.enabled_global, enabledGlobal: tenants === undefined ? false : row.enabled_global, tenants: states };
  });
}

/** The one row a versioned write changes: the global row (null), or the one tenant's. */
function revisionTarget(tenants: TenantRef[] | 'all' | undefined, pluginId: string): TenantRef | null {
  if (tenants === undefined) return null;
  if (tenants === 'all' || tenants.length !== 1) throw new EnablementError(`A versioned write of plugin ${pluginId} changes one row: the global one, or one tenant's.`);
  return tenants[0]!;
}

/** `run` in one transaction on a connection of its own; a connection whose transaction failed is not pooled again. */
async function withTransaction<T>(pool: pg.Pool, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const result = await inTransaction(client, () => run(client));
    client.release();
    return result;
  } catch (error) {
    client.release(true);
    throw error;
  }
}
