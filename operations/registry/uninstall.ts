/**
 * Uninstalling a plugin from tenants. Its `sys_tenant_plugins` rows go, so it is off there at
 * once; its tables and rows stay unless `dropData` is asked, which then undoes every applied
 * migration of the plugin in those tenants with the migration runner (each file's `.down.sql`).
 * An export writes the plugin's tables as JSON before anything is dropped.
 *
 * Order, so that a failure part-way leaves the registries true and the data where it was:
 * every check (a missing `.down.sql`, a used export folder) before any write; the registry rows
 * (with their notifications) next; the export; the data last.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { pluginIdProblem, tenantCodeProblem } from '../../rules/index.ts';
import { inTransaction } from '../../sandbox/data/database.ts';
import { ensureSystemSchemaLocked } from '../../sandbox/data/system-schema.ts';
import { assertSchemaName, quoteIdent } from '../../sandbox/data/sql-identifiers.ts';
import { planDown, type ModuleMigrations } from '../migrations/plan.ts';
import { runMigrations, type RunReport } from '../migrations/runner.ts';
import { installedPlugins, type TenantRef } from './enablement.ts';

export class UninstallError extends Error {
  override name = 'UninstallError';
}

/** A module's tables are those whose name starts with its id, `-` as `_`, then `_` (`stock_ledger_…`). */
export function moduleTablePrefix(pluginId: string): string {
  const problem = pluginIdProblem(pluginId);
  if (problem) throw new UninstallError(`${JSON.stringify(pluginId)} is not a plugin id: it ${problem}.`);
  return `${pluginId.replaceAll('-', '_')}_`;
}

/** Table names that are safe as file names as they are; anything else is refused, never rewritten. */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ModuleTable {
  tenant: string;
  schema: string;
  table: string;
}

/** The plugin's tables in each tenant's schema (partitions are read through their parent). */
export async function moduleTables(db: pg.Pool | pg.ClientBase, pluginId: string, tenants: TenantRef[]): Promise<ModuleTable[]> {
  const bySchema = new Map(tenants.map((t) => [assertSchemaName(t.schema), t.code]));
  // starts_with, not LIKE: `_` is a LIKE wildcard, and plugin `ab` must not take table `abc_x`.
  const { rows } = await db.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND starts_with(c.relname, $2)
      ORDER BY 1, 2`, [[...bySchema.keys()], moduleTablePrefix(pluginId)]);
  return rows.map((r) => ({ tenant: bySchema.get(r.schema)!, schema: r.schema, table: r.table }));
}

/** Why `dir` can't receive an export, or undefined: it must not exist yet, or be an empty folder. */
export function exportDirProblem(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  if (!fs.statSync(dir).isDirectory()) return 'exists and is not a folder';
  if (fs.readdirSync(dir).length > 0) return 'is not empty: name a new or empty folder, so that no earlier export is overwritten or mixed in';
  return undefined;
}

/** `tables`, when each can be a file name as it is; else a refusal naming the first that can't. */
function exportableTables(tables: ModuleTable[]): ModuleTable[] {
  const unsafe = tables.find((t) => !TABLE_NAME.test(t.table) || tenantCodeProblem(t.tenant));
  if (unsafe) throw new UninstallError(`Table ${JSON.stringify(unsafe.table)} of tenant ${JSON.stringify(unsafe.tenant)} can't be named as a file safely: nothing exported. Export it by hand, or rename it.`);
  return tables;
}

export interface ExportedTable extends ModuleTable {
  rows: number;
  file: string;
}

/** Rows fetched per round trip while exporting: memory stays bounded whatever the table's size. */
const EXPORT_BATCH = 1000;

/**
 * Writes each of the plugin's tables in each tenant as `<dir>/<tenant code>/<table>.json`: a JSON
 * array of its rows, one per line, as PostgreSQL's `row_to_json` writes them (so a bigint keeps its
 * digits). Each tenant is read in one snapshot. File names come only from checked codes and names.
 */
export async function exportModuleTables(pool: pg.Pool, pluginId: string, tenants: TenantRef[], dir: string): Promise<ExportedTable[]> {
  const problem = exportDirProblem(dir);
  if (problem) throw new UninstallError(`Export folder ${dir} ${problem}.`);
  const tables = exportableTables(await moduleTables(pool, pluginId, tenants));
  const root = path.resolve(dir);
  fs.mkdirSync(root, { recursive: true });
  const exported: ExportedTable[] = [];
  for (const code of [...new Set(tables.map((t) => t.tenant))]) {
    const folder = path.join(root, code);
    fs.mkdirSync(folder);
    const client = await pool.connect();
    try {
      await inTransaction(client, async () => {
        await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        for (const t of tables.filter((x) => x.tenant === code)) {
          const file = path.join(folder, `${t.table}.json`);
          exported.push({ ...t, file, rows: await exportTable(client, t, file) });
        }
      });
    } finally {
      client.release();
    }
  }
  return exported;
}

async function exportTable(client: pg.ClientBase, { schema, table }: ModuleTable, file: string): Promise<number> {
  const out = fs.openSync(file, 'wx');
  let rows = 0;
  try {
    await client.query(`DECLARE fm_export NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS json FROM ${quoteIdent(schema)}.${quoteIdent(table)} t`);
    fs.writeSync(out, '[');
    for (;;) {
      const { rows: batch } = await client.query<{ json: string }>(`FETCH ${EXPORT_BATCH} FROM fm_export`);
      for (const { json } of batch) fs.writeSync(out, `${rows++ === 0 ? '' : ','}\n${json}`);
      if (batch.length < EXPORT_BATCH) break;
    }
    fs.writeSync(out, rows === 0 ? ']\n' : '\n]\n');
    await client.query('CLOSE fm_export');
  } finally {
    fs.closeSync(out);
  }
  return rows;
}

export interface UninstallOptions {
  pool: pg.Pool;
  pluginId: string;
  tenants: TenantRef[];
  /** Undo every applied migration of the plugin in these tenants, with its `.down.sql` files (needs `module`). @default false */
  dropData?: boolean;
  /** The module as read from its folder: its down files, to drop data. */
  module?: ModuleMigrations;
  /** Write the plugin's tables of these tenants as JSON here first; a new or empty folder. */
  exportDir?: string;
  /** Passed to the migration runner when dropping data. @default the runner's */
  concurrency?: number;
  /** Stops the runner taking more tenants (those in flight finish). */
  signal?: AbortSignal;
}

export interface UninstallReport {
  pluginId: string;
  /** `removed`: the tenant had a `sys_tenant_plugins` row, now gone. */
  tenants: (TenantRef & { removed: boolean })[];
  exported: ExportedTable[];
  /** The runner's report when data was dropped. */
  migrations?: RunReport;
  /** After dropping data, the plugin's tables still there (made outside its migrations, or left by a down file). */
  leftTables: ModuleTable[];
  /** 0 done; 1 a down file failed, a target is blocked, or the run was stopped; 3 lock contention or quarantine. */
  exitCode: 0 | 1 | 3;
}

export async function uninstallPlugin({ pool, pluginId, tenants, dropData = false, module, exportDir, concurrency, signal }: UninstallOptions): Promise<UninstallReport> {
  if ((await installedPlugins(pool, pluginId)).length === 0) throw new UninstallError(`Plugin "${pluginId}" is not installed (no row in sys_plugins): nothing to uninstall.`);
  if (dropData && !module) throw new UninstallError(`Dropping the data of plugin "${pluginId}" needs its module folder (its .down.sql files): nothing done.`);
  if (module && module.id !== pluginId) throw new UninstallError(`The module folder ${module.dir} is plugin "${module.id}", not "${pluginId}".`);
  const problem = exportDir === undefined ? undefined : exportDirProblem(exportDir);
  if (problem) throw new UninstallError(`Export folder ${exportDir} ${problem}. Nothing done.`);
  if (exportDir !== undefined) exportableTables(await moduleTables(pool, pluginId, tenants));
  const codes = tenants.map((t) => t.code);
  let undoing = false;
  if (dropData) {
    const plan = await planDown(pool, [module!], { tenants: codes, to: 0 });
    undoing = plan.work.length > 0;
    const blocked = plan.work.filter((w) => w.blocked);
    if (blocked.length > 0) {
      const messages = blocked.slice(0, 5).map((w) => w.blocked!.message);
      throw new UninstallError(`Nothing done: the data of plugin "${pluginId}" can't be dropped in ${blocked.length} tenant(s). ${messages.join(' ')}${blocked.length > 5 ? ' …' : ''}`);
    }
  }

  await ensureSystemSchemaLocked(pool);
  const client = await pool.connect();
  let removed: Set<string>;
  try {
    removed = await inTransaction(client, async () => {
      const { rows } = await client.query<{ tenant_id: string }>(
        'DELETE FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = ANY($2::uuid[]) RETURNING tenant_id::text', [pluginId, tenants.map((t) => t.id)]);
      // Remembered, so that no later `migrate up` or sandbox start installs it there again.
      await client.query(
        `INSERT INTO public.sys_tenant_plugin_uninstalls (tenant_id, plugin_id, data_dropped) SELECT unnest($2::uuid[]), $1, $3
         ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET data_dropped = sys_tenant_plugin_uninstalls.data_dropped OR EXCLUDED.data_dropped, uninstalled_at = now()`,
        [pluginId, tenants.map((t) => t.id), dropData]);
      // `version_installed` says every target is at that version: from the first file undone, none is.
      if (undoing) await client.query(`UPDATE public.sys_plugins SET version_installed = '0.0.0', updated_at = now() WHERE plugin_id = $1 AND version_installed <> '0.0.0'`, [pluginId]);
      return new Set(rows.map((r) => r.tenant_id));
    });
  } finally {
    client.release();
  }

  const exported = exportDir === undefined ? [] : await exportModuleTables(pool, pluginId, tenants, exportDir);
  let migrations: RunReport | undefined;
  let leftTables: ModuleTable[] = [];
  if (dropData && tenants.length > 0) {
    migrations = await runMigrations({ pool, modules: [module!], plugins: [pluginId], tenants: codes, direction: 'down', to: 0, concurrency, signal });
    leftTables = await moduleTables(pool, pluginId, tenants);
  }
  return {
    pluginId, tenants: tenants.map((t) => ({ ...t, removed: removed.has(t.id) })), exported, migrations, leftTables,
    exitCode: migrations?.exitCode || (migrations && migrations.notStarted > 0 ? 1 : 0),
  };
}
