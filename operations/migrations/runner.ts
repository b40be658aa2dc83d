/**
 * The migration runner: plan, then apply. The plan is one query when there is nothing to do. The
 * public targets run first, then the tenants from one shared queue worked by `concurrency` workers,
 * in waves of `batch` tenants if asked. One failing tenant stops only itself; every outcome goes to
 * the journal; plugins whose every target is up to date get their `version_installed` flipped last.
 *
 * The caller owns the pool (never closed here); the sandbox's bootstrap, `npm run migrate` and the
 * `foundation-module migrate` command all run this same code.
 */
import type pg from 'pg';
import { ensureSystemSchemaLocked } from '../../sandbox/data/system-schema.ts';
import { refreshTenantMirror } from '../../sandbox/data/tenant-mirror.ts';
import { newerInstalledVersion } from '../registry/plugin-versions.ts';
import { applyTarget, undoTarget, type TargetOutcome } from './apply.ts';
import { openJournal, readRunArgs, type RunArgs } from './journal.ts';
import { targetKey, undoChangedFiles } from './redo.ts';
import { retireUndonePlugins, type UndonePlugin } from './undone-plugins.ts';
import { planDown, planUp, PlanError, type MigrationPlan, type ModuleMigrations, type PlanOptions, type TargetWork } from './plan.ts';
import { registryWrite } from '../../sandbox/data/database.ts';

/**
 * Tenants at once by default. Migrating is bound by commit latency (each file's COMMIT waits for
 * its WAL flush), so workers overlap their waits: measured here, 8 workers take half the time of
 * one psql script, 2 workers 0.84 of it (bench/migrate.bench.ts).
 */
export const DEFAULT_CONCURRENCY = 8;

export interface RunnerOptions extends PlanOptions {
  /** The database. Yours: never closed here. Needs `concurrency + 1` connections. */
  pool: pg.Pool;
  modules: ModuleMigrations[];
  /** @default 'up' */
  direction?: 'up' | 'down';
  /** Plan and report, write nothing at all (not even the ledger's tables). @default false */
  dryRun?: boolean;
  /** Tenants worked at once; capped by the server's free connections. @default 8 */
  concurrency?: number;
  /** Tenants per wave; every wave ends before the next starts. @default all in one wave */
  batch?: number;
  /** Pause between waves. @default 0 */
  batchPauseMs?: number;
  /** Failed runs in a row before a (plugin, schema) is quarantined. @default 3 */
  maxAttempts?: number;
  /** How long a file waits for a lock before its target is reported `locked`. @default 10000 */
  lockTimeoutMs?: number;
  /** statement_timeout of migration statements; 0 = none. @default 0 */
  statementTimeoutMs?: number;
  /** Continue this run (same journal, same arguments unless given). */
  resume?: string;
  /** Record a plugin seen for the first time as enabled (the sandbox) or not (operators). @default false */
  enableNewPlugins?: boolean;
  /** The caller has made sure the system tables exist (the bootstrap, which holds their lock). @default false */
  systemSchemaReady?: boolean;
  /**
   * The sandbox's bootstrap: a file changed after it ran is undone with its down file (and the
   * files after it) and applied again, instead of blocking its target (redo.ts). @default false
   */
  redoChangedFiles?: boolean;
  /** Stop taking new targets (in-flight ones finish). */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
}

export type RunEvent =
  | { type: 'planned'; plan: MigrationPlan; runnable: number; concurrency: number }
  /** The journal is open: from here on, `--resume <runId>` continues this run. */
  | { type: 'started'; runId: string }
  | { type: 'target'; work: TargetWork; outcome: TargetOutcome; quarantined: boolean; done: number; total: number }
  | { type: 'wave'; wave: number; waves: number };

export interface TargetResult {
  work: TargetWork;
  outcome: TargetOutcome;
  quarantined: boolean;
}

export interface RunReport {
  /** null for a dry run or a no-op (nothing journaled). */
  runId: string | null;
  plan: MigrationPlan;
  results: TargetResult[];
  /** Planned targets that could not run (changed file, missing schema, quarantined, no down file). */
  blocked: TargetWork[];
  /** Targets left untouched because the run was stopped. */
  notStarted: number;
  /** With `redoChangedFiles`: what was undone to be applied again, one sentence per target. */
  redone: string[];
  /** `down`: plugins switched off where none of their files is applied any more (undone-plugins.ts). */
  retired: UndonePlugin[];
  /** 0 all done; 1 some target failed or is blocked; 3 a lock timed out or a target is quarantined. */
  exitCode: 0 | 1 | 3;
  elapsedMs: number;
}

export async function runMigrations(options: RunnerOptions): Promise<RunReport> {
  const started = performance.now();
  const { pool, modules, dryRun = false, batchPauseMs = 0, maxAttempts = 3, lockTimeoutMs = 10_000, statementTimeoutMs = 0, onEvent } = options;
  const args = await runArgs(options);
  const direction = args.direction;
  // A foundation's tenants, as its own table has them now: the ledger's rows refer to the kit's copy.
  if (!dryRun && options.tenantDirectory) await refreshTenantMirror(pool, options.tenantDirectory);
  const plan = direction === 'up' ? await planUp(pool, modules, { ...options, ...args }) : await planDown(pool, modules, { ...options, ...args });
  const redone: string[] = [];
  if (options.redoChangedFiles && direction === 'up' && !dryRun && plan.work.some((w) => w.blocked?.reason === 'changed')) {
    const redo = await undoChangedFiles(pool, plan, { runId: null, lockTimeoutMs, statementTimeoutMs });
    redone.push(...redo.redone);
    Object.assign(plan, await planUp(pool, modules, { ...options, ...args }));
    for (const w of plan.work) if (w.blocked?.reason === 'changed' && redo.refused.has(targetKey(w))) w.blocked.message = redo.refused.get(targetKey(w))!;
  }
  const blocked = plan.work.filter((w) => w.blocked);
  const runnable = plan.work.filter((w) => !w.blocked);
  const concurrency = runnable.length > 0 && !dryRun ? await cappedConcurrency(pool, options.concurrency ?? DEFAULT_CONCURRENCY) : 0;
  onEvent?.({ type: 'planned', plan, runnable: runnable.length, concurrency });
  const report = (runId: string | null, results: TargetResult[], notStarted: number, retired: UndonePlugin[] = []): RunReport =>
    ({ runId, plan, results, blocked, notStarted, redone, retired, exitCode: exitCodeOf(results, blocked), elapsedMs: performance.now() - started });
  if (dryRun) return report(null, [], 0);
  // A real run leaves the database ready for the next one (and for `tenants create`), even with nothing to apply.
  if (!options.systemSchemaReady && (runnable.length > 0 || !plan.ledger)) await ensureSystemSchemaLocked(pool);
  if (runnable.length === 0) return report(null, [], 0);

  await registerPlugins(pool, modules.filter((m) => runnable.some((w) => w.module === m)), options.enableNewPlugins ?? false);
  const journal = await openJournal(pool, { args, work: plan.work, resumeRunId: options.resume, maxAttempts });
  onEvent?.({ type: 'started', runId: journal.runId });
  const applyOptions = { runId: journal.runId, lockTimeoutMs, statementTimeoutMs };
  const results: TargetResult[] = [];
  let done = 0;

  const work = async (item: TargetWork) => {
    const startedAt = new Date();
    const client = await pool.connect();
    let outcome: TargetOutcome;
    try {
      outcome = direction === 'up' ? await applyTarget(client, item, applyOptions) : await undoTarget(client, item, applyOptions);
    } finally {
      // After a failure the session may be broken or carry state: a fresh one serves the next target.
      client.release(outcome! === undefined || outcome.state !== 'done');
    }
    const quarantined = await journal.targetEnded(item, outcome, startedAt);
    results.push({ work: item, outcome, quarantined });
    onEvent?.({ type: 'target', work: item, outcome, quarantined, done: ++done, total: runnable.length });
  };

  // Up: public first (tenant migrations may rely on it). Down: tenants first.
  const first = runnable.filter((w) => (direction === 'up' ? w.target.scope === 'public' : w.target.scope === 'tenant'));
  const second = runnable.filter((w) => !first.includes(w));
  const phases = direction === 'up' ? [first, ...waves(second, options.batch)] : [...waves(first, options.batch), second];
  let notStarted = 0;
  for (const [index, phase] of phases.entries()) {
    if (options.signal?.aborted) {
      notStarted += phase.length;
      continue;
    }
    if (index > 0 && phases.length > 2) onEvent?.({ type: 'wave', wave: index, waves: phases.length - 1 });
    notStarted += await workQueue(phase, concurrency, work, options.signal);
    if (batchPauseMs > 0 && index < phases.length - 1 && !options.signal?.aborted) await new Promise((resolve) => setTimeout(resolve, batchPauseMs));
  }

  // A canary run (--tenant) leaves other tenants behind: the installed version stays until all are done.
  if (direction === 'up' && !args.tenants) await flipVersions(pool, modules.filter((m) => !args.plugins || args.plugins.includes(m.id)), results, blocked, notStarted);
  const retired = direction === 'down' ? await retireUndonePlugins(pool, results) : [];
  const final = report(journal.runId, results, notStarted, retired);
  await journal.finish(final.exitCode === 0 && notStarted === 0);
  return final;
}

/** `--resume <run>` takes the run's own arguments; anything given again wins. */
async function runArgs(options: RunnerOptions): Promise<RunArgs> {
  const given: RunArgs = { direction: options.direction ?? 'up', plugins: options.plugins, tenants: options.tenants, from: options.from, to: options.to };
  if (!options.resume) return given;
  const saved = await readRunArgs(options.pool, options.resume).catch(() => undefined);
  if (!saved) throw new PlanError(`There is no migration run ${options.resume} to resume: \`foundation-module migrate status\` lists the last runs.`);
  return {
    direction: saved.direction,
    plugins: options.plugins ?? saved.plugins, tenants: options.tenants ?? saved.tenants, from: options.from ?? saved.from, to: options.to ?? saved.to,
  };
}

/** Tenants per wave; the public phase stays one. */
function waves(items: TargetWork[], batch: number | undefined): TargetWork[][] {
  if (!batch || items.length === 0) return [items];
  const tenants = [...new Set(items.map((w) => w.target.schema))];
  const result: TargetWork[][] = [];
  for (let i = 0; i < tenants.length; i += batch) {
    const wave = new Set(tenants.slice(i, i + batch));
    result.push(items.filter((w) => wave.has(w.target.schema)));
  }
  return result;
}

/** Runs `items` with `concurrency` workers taking from one queue. @returns how many were never taken (stopped). */
async function workQueue(items: TargetWork[], concurrency: number, work: (item: TargetWork) => Promise<void>, signal?: AbortSignal): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return items.length - next;
}

/** `wanted`, but never more than the server has connections to spare (keeping a few for everyone else). */
async function cappedConcurrency(pool: pg.Pool, wanted: number): Promise<number> {
  const { rows } = await pool.query<{ free: number }>(
    `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - (SELECT count(*) FROM pg_catalog.pg_stat_activity)::int AS free`);
  return Math.max(1, Math.min(wanted, rows[0]!.free - 2));
}

/** The ledger refers to sys_plugins: a plugin met for the first time gets its row, not yet at its version. */
async function registerPlugins(pool: pg.Pool, modules: ModuleMigrations[], enable: boolean): Promise<void> {
  if (modules.length === 0) return;
  await registryWrite(pool,
    `INSERT INTO public.sys_plugins (plugin_id, api_version, version_installed, enabled_global)
     SELECT id, api, '0.0.0', $3 FROM unnest($1::text[], $2::text[]) AS m(id, api) ON CONFLICT (plugin_id) DO NOTHING`,
    [modules.map((m) => m.id), modules.map((m) => m.api), enable]);
}

/** Upgrade order: public migrations, tenant migrations, then `version_installed` flips. */
async function flipVersions(pool: pg.Pool, modules: ModuleMigrations[], results: TargetResult[], blocked: TargetWork[], notStarted: number): Promise<void> {
  if (notStarted > 0) return;
  const done = modules.filter((m) => !blocked.some((w) => w.module === m) && results.every((r) => r.work.module !== m || r.outcome.state === 'done'));
  // An older module folder never sets the installed version back (registry/plugin-versions.ts).
  const complete: ModuleMigrations[] = [];
  for (const m of done) if ((await newerInstalledVersion(pool, m)) === undefined) complete.push(m);
  if (complete.length === 0) return;
  await registryWrite(pool,
    `UPDATE public.sys_plugins p SET version_installed = v.version, updated_at = now()
       FROM unnest($1::text[], $2::text[]) AS v(id, version)
      WHERE p.plugin_id = v.id AND p.version_installed IS DISTINCT FROM v.version`,
    [complete.map((m) => m.id), complete.map((m) => m.version)]);
}

function exitCodeOf(results: TargetResult[], blocked: TargetWork[]): 0 | 1 | 3 {
  if (results.some((r) => r.outcome.state === 'locked' || r.quarantined) || blocked.some((w) => w.blocked!.reason === 'quarantined')) return 3;
  if (results.some((r) => r.outcome.state === 'failed') || blocked.length > 0) return 1;
  return 0;
}
