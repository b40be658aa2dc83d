/**
 * What a migration command would do, per plugin and target (the public schema, or one tenant's):
 * which files to apply (or undo), and which targets are blocked and why. `status`, `validate`,
 * `up --dry-run`, `up` and `down` all build this same plan; only `up` and `down` then apply it.
 */
import type pg from 'pg';
import { KIT_TENANT_TABLE, tenantRowsSql, type TenantDirectory } from '../../foundation-lib/tenant-directory.ts';
import { readStaticMeta } from '../../sandbox/plugins/static-meta.ts';
import { checkedSql, hasDown } from './file-check.ts';
import { MIGRATION_SCOPES, readMigrations, type MigrationFile, type MigrationScope } from './files.ts';
import { readLedgerDiff, type ExpectedFile, type UnknownApplied } from './ledger.ts';
import { loadSqlParser } from './sql-statements.ts';

/** A module as the runner sees it: its static meta and its files, no code run. */
export interface ModuleMigrations {
  id: string;
  version: string;
  /** `meta.api`, e.g. `1.x` */
  api: string;
  dir: string;
  files: Record<MigrationScope, MigrationFile[]>;
}

export function readModuleMigrations(moduleDir: string): ModuleMigrations {
  const { id, version, api, dir } = readStaticMeta(moduleDir);
  return { id, version, api, dir, files: { public: readMigrations(dir, 'public'), tenant: readMigrations(dir, 'tenant') } };
}

export interface MigrationTarget {
  scope: MigrationScope;
  /** null for the public target */
  tenantId: string | null;
  tenantCode: string | null;
  schema: string;
}

/** `tenant acme (schema tenant_acme)` or `the public schema`, for messages. */
export function describeTarget(target: MigrationTarget): string {
  return target.tenantCode ? `tenant ${target.tenantCode} (schema ${target.schema})` : 'the public schema';
}

export type BlockReason = 'changed' | 'schema-missing' | 'quarantined' | 'no-down' | 'out-of-order' | 'invalid';

export interface TargetWork {
  module: ModuleMigrations;
  target: MigrationTarget;
  /** `up`: the files to apply, in order. `down`: the files to undo, newest first. */
  files: MigrationFile[];
  /** Set when nothing may run in this target; `files` is then what would have run. */
  blocked?: { reason: BlockReason; message: string; /** `changed`: the applied files whose text changed, in order. */ changed?: MigrationFile[] };
}

/** A pending file with no statement yet (a migration being written): it and the files after it wait. */
export interface EmptyFile {
  pluginId: string;
  scope: MigrationScope;
  name: string;
  /** Targets where it is pending. */
  targets: number;
}

export interface MigrationPlan {
  direction: 'up' | 'down';
  /** False when the database has no ledger yet (nothing was ever migrated there). */
  ledger: boolean;
  /** Targets with something to do, or blocked; up-to-date targets are only counted. */
  work: TargetWork[];
  /** Tenants the plan covers (after `--tenant`). */
  tenants: { id: string; code: string; schema: string; exists: boolean }[];
  /** plugins × (public + tenants) targets that have nothing to do. */
  upToDate: number;
  /** (plugin, tenant) targets left alone: the plugin was uninstalled there (`plugins enable --tenant` installs it again). */
  uninstalled: number;
  /** Ledger rows whose file is gone from the module: `validate` reports them. */
  unknownApplied: UnknownApplied[];
  /** Pending files holding only comments: never applied nor recorded until they hold a statement. */
  empty: EmptyFile[];
}

export interface PlanOptions {
  /** Only these tenant codes (the public target is always included). @default every tenant */
  tenants?: string[];
  /** Only these plugin ids. @default every module given */
  plugins?: string[];
  /** Only files numbered from this one on (a pending file below it blocks its target). */
  from?: number;
  /** `up`: only files up to this number. `down`: undo every file above this number. */
  to?: number;
  /** Plan quarantined targets as any other (`--retry-quarantined`). @default false */
  retryQuarantined?: boolean;
  /** Where the tenants are listed: a foundation's own table (its bindings' `tenantTable`). @default the kit's `sys_tenant` */
  tenantDirectory?: TenantDirectory;
}

export async function planUp(db: pg.Pool | pg.ClientBase, modules: ModuleMigrations[], options: PlanOptions = {}): Promise<MigrationPlan> {
  const chosen = selectModules(modules, options.plugins);
  const expected: ExpectedFile[] = chosen.flatMap((m) => MIGRATION_SCOPES.flatMap((scope) => m.files[scope].map((file) => ({
    pluginId: m.id, scope, name: file.name, number: file.number, checksum: file.checksum,
  }))));
  const diff = await readLedgerDiff(db, expected, options.tenants, options.tenantDirectory);
  // Files are parsed only when something is to run: an up-to-date database is one query, no parser.
  if (diff.differences.length > 0) await loadSqlParser();
  const schemaExists = new Map(diff.tenants.map((t) => [t.schema, t.exists]));
  const quarantined = new Map(diff.quarantined.map((q) => [`${q.pluginId}/${q.schema}`, q]));

  const byTarget = new Map<string, { module: ModuleMigrations; target: MigrationTarget; pending: MigrationFile[]; changed: { file: MigrationFile; recorded: string }[] }>();
  for (const d of diff.differences) {
    const module = chosen.find((m) => m.id === d.pluginId)!;
    const file = module.files[d.scope].find((f) => f.name === d.name)!;
    const key = `${d.pluginId}/${d.schema}`;
    let entry = byTarget.get(key);
    if (!entry) {
      entry = { module, target: { scope: d.scope, tenantId: d.tenantId, tenantCode: d.tenantCode, schema: d.schema }, pending: [], changed: [] };
      byTarget.set(key, entry);
    }
    if (d.recorded === null) entry.pending.push(file);
    else entry.changed.push({ file, recorded: d.recorded });
  }

  const work: TargetWork[] = [];
  const empty = new Map<string, EmptyFile>();
  for (const { module, target, pending, changed } of byTarget.values()) {
    pending.sort((a, b) => a.number - b.number);
    const wanted = pending.filter((f) => (options.to === undefined || f.number <= options.to));
    // A file being written holds no statement yet: recorded now, its SQL written later would be drift.
    const firstEmpty = wanted.findIndex((f) => isEmpty(f, target.scope));
    const inRange = firstEmpty === -1 ? wanted : wanted.slice(0, firstEmpty);
    if (firstEmpty !== -1) {
      const file = wanted[firstEmpty]!;
      const key = `${module.id}/${target.scope}/${file.name}`;
      empty.set(key, { pluginId: module.id, scope: target.scope, name: file.name, targets: (empty.get(key)?.targets ?? 0) + 1 });
    }
    const where = describeTarget(target);
    let blocked: TargetWork['blocked'];
    if (changed.length > 0) {
      const { file, recorded } = changed[0]!;
      blocked = {
        reason: 'changed',
        message: `Migration ${target.scope}/${file.name} of plugin "${module.id}" was changed after it ran in ${where}: ` +
          `recorded sha256 ${recorded}, file now ${file.checksum}. Nothing more runs there. Restore the file and put the change in a new, higher-numbered migration.`,
        changed: changed.map((c) => c.file).sort((a, b) => a.number - b.number),
      };
    } else if (target.scope === 'tenant' && schemaExists.get(target.schema) === false) {
      blocked = { reason: 'schema-missing', message: `Tenant "${target.tenantCode}" has no schema "${target.schema}": nothing runs for it (it would land in public). Restore the schema, or remove the tenant.` };
    } else if (quarantined.has(`${module.id}/${target.schema}`) && !options.retryQuarantined) {
      const q = quarantined.get(`${module.id}/${target.schema}`)!;
      blocked = { reason: 'quarantined', message: `Plugin "${module.id}" in ${where} is quarantined after ${q.failures} failed attempts (last: ${q.error ?? 'unknown'}). Fix the cause, then run with --retry-quarantined.` };
    } else if (options.from !== undefined && inRange.some((f) => f.number < options.from!)) {
      const first = inRange.find((f) => f.number < options.from!)!;
      blocked = { reason: 'out-of-order', message: `${first.name} of plugin "${module.id}" is pending in ${where}, before --from ${options.from}: migrations run in order. Run without --from, or with a lower one.` };
    } else {
      blocked = unrunnable(module, target, inRange, 'up');
    }
    const files = inRange.filter((f) => options.from === undefined || f.number >= options.from || blocked);
    if (files.length > 0 || blocked) work.push({ module, target, files, ...(blocked ? { blocked } : {}) });
  }
  // Public first (a plugin's tenant migrations may use what its public ones create), then tenants by code.
  work.sort((a, b) => (a.target.scope === b.target.scope ? (a.target.tenantCode ?? '').localeCompare(b.target.tenantCode ?? '') || a.module.id.localeCompare(b.module.id) : a.target.scope === 'public' ? -1 : 1));

  const targets = chosen.length * (1 + diff.tenants.length);
  return {
    direction: 'up', ledger: diff.ledger, work, tenants: diff.tenants, upToDate: targets - byTarget.size - diff.uninstalled, uninstalled: diff.uninstalled, unknownApplied: diff.unknownApplied,
    empty: [...empty.values()],
  };
}

export async function planDown(db: pg.Pool | pg.ClientBase, modules: ModuleMigrations[], options: PlanOptions = {}): Promise<MigrationPlan> {
  const chosen = selectModules(modules, options.plugins);
  const { rows } = await db.query<{ plugin_id: string; scope: MigrationScope; tenant_id: string | null; code: string | null; schema_name: string; names: string[]; checksums: string[] }>(
    `SELECT m.plugin_id, m.scope::text AS scope, m.tenant_id::text, t.code, coalesce(t.schema_name, 'public') AS schema_name,
            array_agg(m.name ORDER BY m.id DESC) AS names, array_agg(m.checksum ORDER BY m.id DESC) AS checksums
       FROM public.sys_plugin_migrations m LEFT JOIN (${tenantRowsSql(options.tenantDirectory ?? KIT_TENANT_TABLE)}) t ON t.id = m.tenant_id
      WHERE m.plugin_id = ANY($1::text[])
        -- A tenant row whose tenant is gone (a foundation's, before its copy is refreshed) is no target: never public.
        AND (m.tenant_id IS NULL OR t.id IS NOT NULL)
        -- The public schema serves every tenant: a down limited to some tenants leaves it alone.
        AND CASE WHEN $2::text[] IS NULL THEN true ELSE t.code = ANY($2::text[]) END
      GROUP BY 1, 2, 3, 4, 5`,
    [chosen.map((m) => m.id), options.tenants ?? null]);
  const work: TargetWork[] = [];
  if (rows.length > 0) await loadSqlParser();
  for (const row of rows) {
    const module = chosen.find((m) => m.id === row.plugin_id)!;
    const target: MigrationTarget = { scope: row.scope, tenantId: row.tenant_id, tenantCode: row.code, schema: row.schema_name };
    const applied = row.names.map((name, i) => ({ name, checksum: row.checksums[i]!, file: module.files[row.scope].find((f) => f.name === name) }));
    const undo = options.to === undefined ? applied.slice(0, 1) : applied.filter((a) => (a.file?.number ?? Number.POSITIVE_INFINITY) > options.to!);
    if (undo.length === 0) continue;
    const where = describeTarget(target);
    const gone = undo.find((a) => !a.file);
    const changed = undo.find((a) => a.file && a.file.checksum !== a.checksum);
    const noDown = undo.find((a) => a.file && !hasDown(a.file, row.scope));
    const blocked = gone
      ? { reason: 'no-down' as const, message: `${gone.name} of plugin "${module.id}" ran in ${where} but is no longer in ${module.dir}: it can't be undone from here.` }
      : changed
        ? { reason: 'changed' as const, message: `Migration ${target.scope}/${changed.name} of plugin "${module.id}" was changed after it ran in ${where}: recorded sha256 ${changed.checksum}, file now ${changed.file!.checksum}. Nothing is undone there.` }
        : noDown
          ? { reason: 'no-down' as const, message: `${noDown.name} of plugin "${module.id}" has no ${noDown.name.replace(/\.sql$/, '.down.sql')}${noDown.file!.down === undefined ? '' : ' with a statement in it (only comments)'}: it can't be undone. Write the SQL that undoes it (\`SELECT 1;\` if there is nothing to undo), or undo it by hand.` }
          : unrunnable(module, target, undo.flatMap((a) => (a.file ? [a.file] : [])), 'down');
    work.push({ module, target, files: undo.flatMap((a) => (a.file ? [a.file] : [])), ...(blocked ? { blocked } : {}) });
  }
  // Tenants before public: the reverse of up.
  work.sort((a, b) => (a.target.scope === b.target.scope ? (a.target.tenantCode ?? '').localeCompare(b.target.tenantCode ?? '') : a.target.scope === 'tenant' ? -1 : 1));
  return { direction: 'down', ledger: true, work, tenants: [], upToDate: 0, uninstalled: 0, unknownApplied: [], empty: [] };
}

function isEmpty(file: MigrationFile, scope: MigrationScope): boolean {
  const { statements, problems } = checkedSql(file, scope, 'up');
  return statements.length === 0 && problems.length === 0;
}

/** The first file of `files` that the runner would refuse to send (file-check.ts), as the target's block. */
function unrunnable(module: ModuleMigrations, target: MigrationTarget, files: MigrationFile[], direction: 'up' | 'down'): TargetWork['blocked'] {
  for (const file of files) {
    const [problem, ...more] = checkedSql(file, target.scope, direction).problems;
    if (!problem) continue;
    const name = direction === 'up' ? file.name : file.name.replace(/\.sql$/, '.down.sql');
    const others = more.length > 0 ? ` (and ${more.length} more problem(s): \`foundation-module migrate validate\` lists them)` : '';
    return {
      reason: 'invalid',
      message: `${target.scope}/${name} of plugin "${module.id}" can't run, line ${problem.line}, column ${problem.column}: ${problem.message}${others}. Nothing runs in ${describeTarget(target)} until it is fixed.`,
    };
  }
  return undefined;
}

function selectModules(modules: ModuleMigrations[], plugins: string[] | undefined): ModuleMigrations[] {
  if (!plugins) return modules;
  const unknown = plugins.filter((id) => !modules.some((m) => m.id === id));
  if (unknown.length > 0) throw new PlanError(`No module given has the plugin id ${unknown.map((id) => `"${id}"`).join(', ')} (modules: ${modules.map((m) => m.id).join(', ') || 'none'}).`);
  return modules.filter((m) => plugins.includes(m.id));
}

export class PlanError extends Error {
  override name = 'PlanError';
}
