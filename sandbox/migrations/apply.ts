/**
 * Applies (or undoes) the files of one target, one file per transaction together with its ledger
 * row, so that a file is applied exactly once or not at all, whatever kills the process. Each
 * transaction holds the advisory lock of (plugin, schema) and re-reads the ledger under it: a
 * second runner on the same tenant waits, then finds the file done and skips it.
 *
 * Statements are sent one at a time (a Citus coordinator refuses several in one query), and the
 * search_path is set with `set_config(…, true)`, which is `SET LOCAL`: it ends with the transaction.
 */
import type pg from 'pg';
import { inTransaction } from '../data/database.ts';
import { quoteIdent } from '../data/tenancy.ts';
import { splitStatements, type MigrationFile } from './files.ts';
import { recordApplied, recordedChecksum, removeApplied, type LedgerKey } from './ledger.ts';
import { describeTarget, type MigrationTarget, type TargetWork } from './plan.ts';

export interface ApplyOptions {
  /** The run's id, recorded beside each file it applied. */
  runId: string | null;
  /** How long a file waits for its (plugin, schema) lock or a table lock before its target is reported `locked`. */
  lockTimeoutMs: number;
  /** PostgreSQL statement_timeout for migration statements; 0 = none. */
  statementTimeoutMs: number;
}

export type TargetOutcome =
  | { state: 'done'; applied: string[] }
  | { state: 'failed' | 'locked'; applied: string[]; file: string; error: string; sqlState: string | null };

/** Thrown inside a file's transaction when its target must stop; caught by applyTarget. */
class TargetStop extends Error {
  constructor(readonly state: 'failed' | 'locked', message: string, readonly sqlState: string | null = null) {
    super(message);
  }
}

/** Applies `work.files` in order; stops the target at the first file that fails. */
export async function applyTarget(client: pg.ClientBase, work: TargetWork, options: ApplyOptions): Promise<TargetOutcome> {
  return runFiles(client, work, options, (file) => (file.noTransaction ? applyOutsideTransaction(client, work, file, options) : applyInTransaction(client, work, file, options)));
}

/** Undoes `work.files` (newest first) with their `.down.sql` twins, each with its ledger row. */
export async function undoTarget(client: pg.ClientBase, work: TargetWork, options: ApplyOptions): Promise<TargetOutcome> {
  return runFiles(client, work, options, (file) => undoInTransaction(client, work, file, options));
}

async function runFiles(client: pg.ClientBase, work: TargetWork, options: ApplyOptions, run: (file: MigrationFile) => Promise<boolean>): Promise<TargetOutcome> {
  const applied: string[] = [];
  for (const file of work.files) {
    try {
      if (await run(file)) applied.push(file.name);
    } catch (error) {
      const stop = error instanceof TargetStop ? error : asStop(error, work, file);
      return { state: stop.state, applied, file: file.name, error: stop.message, sqlState: stop.sqlState };
    }
  }
  return { state: 'done', applied };
}

/** A PostgreSQL error (or a lost connection) while running `file`, as the target's stop. */
function asStop(error: unknown, work: TargetWork, file: MigrationFile): TargetStop {
  const { code, message } = error as { code?: string; message?: string };
  const what = `Migration ${work.target.scope}/${file.name} of plugin "${work.module.id}"`;
  const where = describeTarget(work.target);
  // 55P03 lock_not_available: the advisory lock or a table lock did not come within lock_timeout.
  if (code === '55P03') return new TargetStop('locked', `${what} waited in ${where} longer than the lock timeout for a lock (another runner, or a long transaction on its tables); nothing of it ran. Run again later.`, code);
  const undone = file.noTransaction ? 'It ran outside a transaction: statements before the failing one stay, and run again next time.' : 'It was rolled back.';
  return new TargetStop('failed', `${what} failed in ${where}: ${message ?? String(error)}. ${undone}`, typeof code === 'string' ? code : null);
}

function ledgerKey(work: TargetWork, file: MigrationFile): LedgerKey {
  return { pluginId: work.module.id, scope: work.target.scope, tenantId: work.target.tenantId, name: file.name };
}

/** search_path, lock_timeout and statement_timeout for this target: LOCAL inside a transaction, for the session outside. */
async function enterTarget(client: pg.ClientBase, target: MigrationTarget, options: ApplyOptions, local: boolean): Promise<void> {
  const path = target.scope === 'public' ? 'public' : `${quoteIdent(target.schema)}, public`;
  // One round trip: the select list is evaluated in order, so current_schema() sees the new path.
  // Were it ever evaluated first, it would see the default path and refuse: it fails closed.
  const { rows } = await client.query<{ schema: string | null }>(
    `SELECT pg_catalog.set_config('search_path', $1, $4), pg_catalog.set_config('lock_timeout', $2, $4),
            pg_catalog.set_config('statement_timeout', $3, $4), pg_catalog.current_schema() AS schema`,
    [path, `${options.lockTimeoutMs}ms`, `${options.statementTimeoutMs}ms`, local]);
  // A missing schema drops out of search_path, and everything would land in public instead.
  if (rows[0]?.schema !== target.schema) {
    throw new TargetStop('failed', `The schema "${target.schema}" of ${describeTarget(target)} does not exist: nothing ran (it would have landed in public).`);
  }
}

/** Takes the (plugin, schema) lock: `xact` for the transaction, else for the session. */
async function lockTarget(client: pg.ClientBase, work: TargetWork, xact: boolean): Promise<void> {
  const lock = xact ? 'pg_advisory_xact_lock' : 'pg_advisory_lock';
  await client.query(`SELECT pg_catalog.${lock}(pg_catalog.hashtext($1), pg_catalog.hashtext($2))`, [work.module.id, work.target.schema]);
}

/** @returns whether the file was applied by this call (false: another runner had done it). */
async function applyInTransaction(client: pg.ClientBase, work: TargetWork, file: MigrationFile, options: ApplyOptions): Promise<boolean> {
  return inTransaction(client, async () => {
    await enterTarget(client, work.target, options, true);
    await lockTarget(client, work, true);
    if (await alreadyApplied(client, work, file)) return false;
    const started = performance.now();
    for (const statement of splitStatements(file.sql, file.name)) await client.query(statement);
    await recordApplied(client, ledgerKey(work, file), { version: work.module.version, checksum: file.checksum, runId: options.runId, executionMs: Math.round(performance.now() - started) });
    return true;
  });
}

/**
 * For `-- migrate:no-transaction` files (CREATE INDEX CONCURRENTLY cannot run in a transaction):
 * each statement runs on its own, under a session lock, and the ledger row is written after the
 * last one. A run killed part-way runs the file again from the start, so such files must be
 * idempotent (`IF NOT EXISTS`).
 */
async function applyOutsideTransaction(client: pg.ClientBase, work: TargetWork, file: MigrationFile, options: ApplyOptions): Promise<boolean> {
  await client.query('SELECT pg_catalog.set_config(\'lock_timeout\', $1, false)', [`${options.lockTimeoutMs}ms`]);
  await lockTarget(client, work, false);
  try {
    if (await alreadyApplied(client, work, file)) return false;
    await enterTarget(client, work.target, options, false);
    const started = performance.now();
    for (const statement of splitStatements(file.sql, file.name)) await client.query(statement);
    await recordApplied(client, ledgerKey(work, file), { version: work.module.version, checksum: file.checksum, runId: options.runId, executionMs: Math.round(performance.now() - started) });
    return true;
  } finally {
    // The connection goes back to a pool: it must carry none of this session's settings or locks.
    await client.query('RESET search_path; RESET lock_timeout; RESET statement_timeout; SELECT pg_catalog.pg_advisory_unlock_all()');
  }
}

async function undoInTransaction(client: pg.ClientBase, work: TargetWork, file: MigrationFile, options: ApplyOptions): Promise<boolean> {
  return inTransaction(client, async () => {
    await enterTarget(client, work.target, options, true);
    await lockTarget(client, work, true);
    const recorded = await recordedChecksum(client, ledgerKey(work, file));
    if (recorded === null) return false; // another runner undid it
    for (const statement of splitStatements(file.down!, file.name.replace(/\.sql$/, '.down.sql'))) await client.query(statement);
    await removeApplied(client, ledgerKey(work, file));
    return true;
  });
}

/** Under the lock: true when the file is recorded with this checksum; a stop when with another. */
async function alreadyApplied(client: pg.ClientBase, work: TargetWork, file: MigrationFile): Promise<boolean> {
  const recorded = await recordedChecksum(client, ledgerKey(work, file));
  if (recorded === null) return false;
  if (recorded === file.checksum) return true;
  throw new TargetStop('failed', `Migration ${work.target.scope}/${file.name} of plugin "${work.module.id}" was changed after it ran in ${describeTarget(work.target)}: recorded sha256 ${recorded}, file now ${file.checksum}.`);
}

