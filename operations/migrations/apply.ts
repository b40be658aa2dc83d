/**
 * Applies (or undoes) the files of one target, one file per transaction together with its ledger
 * row, so that a file is applied exactly once or not at all, whatever kills the process. Each
 * transaction holds the advisory lock of (plugin, schema) and re-reads the ledger under it: a
 * second runner on the same tenant waits, then finds the file done and skips it.
 *
 * Statements are the ones file-check.ts kept (split by PostgreSQL's parser, checked before the
 * run), sent one at a time (a Citus coordinator refuses several in one query), and the
 * search_path is set with `set_config(…, true)`, which is `SET LOCAL`: it ends with the transaction.
 */
import type pg from 'pg';
import { isPooledConnection } from '../../sandbox/data/connection-mode.ts';
import { inTransaction } from '../../sandbox/data/database.ts';
import { quoteIdent } from '../../sandbox/data/sql-identifiers.ts';
import { checkedSql } from './file-check.ts';
import type { MigrationFile } from './files.ts';
import { recordApplied, recordedChecksum, removeApplied, type LedgerKey } from './ledger.ts';
import { describeTarget, type MigrationTarget, type TargetWork } from './plan.ts';
import { invalidIndexes, rebuildableIndexes, sessionLockAll, tryLock, type LockKey } from './target-locks.ts';
import { position, type SqlStatement } from './sql-statements.ts';

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
  | { state: 'failed' | 'locked'; applied: string[]; file: string; error: string; sqlState: string | null; statement?: StatementPlace };

/** Where in its file the statement that failed is: number in the file, line and column of the error. */
export interface StatementPlace {
  number: number;
  line: number;
  column: number;
}

/** Thrown inside a file's transaction when its target must stop; caught by applyTarget. */
class TargetStop extends Error {
  constructor(readonly state: 'failed' | 'locked', message: string, readonly sqlState: string | null = null, readonly statement?: StatementPlace) {
    super(message);
  }
}

/** A statement's error, with where it happened in its file. */
class StatementError extends Error {
  constructor(override readonly cause: unknown, readonly place: StatementPlace) {
    super((cause as Error)?.message ?? String(cause));
  }
}

/** Applies `work.files` in order; stops the target at the first file that fails. */
export async function applyTarget(client: pg.ClientBase, work: TargetWork, options: ApplyOptions): Promise<TargetOutcome> {
  return runFiles(client, work, options, (file) => (file.noTransaction ? applyOutsideTransaction(client, work, file, options) : applyInTransaction(client, work, file, options)));
}

/** Undoes `work.files` (newest first) with their `.down.sql` twins, each with its ledger row. */
export async function undoTarget(client: pg.ClientBase, work: TargetWork, options: ApplyOptions): Promise<TargetOutcome> {
  return runFiles(client, work, options, (file) => undoInTransaction(client, work, file, options), 'down');
}

async function runFiles(client: pg.ClientBase, work: TargetWork, options: ApplyOptions, run: (file: MigrationFile) => Promise<boolean>, direction: 'up' | 'down' = 'up'): Promise<TargetOutcome> {
  const applied: string[] = [];
  for (const file of work.files) {
    try {
      if (await run(file)) applied.push(file.name);
    } catch (error) {
      const stop = error instanceof TargetStop ? error : asStop(error, work, file, direction);
      return { state: stop.state, applied, file: file.name, error: stop.message, sqlState: stop.sqlState, ...(stop.statement ? { statement: stop.statement } : {}) };
    }
  }
  return { state: 'done', applied };
}

/** A PostgreSQL error (or a lost connection) while running `file`, as the target's stop. */
function asStop(thrown: unknown, work: TargetWork, file: MigrationFile, direction: 'up' | 'down' = 'up'): TargetStop {
  const place = thrown instanceof StatementError ? thrown.place : undefined;
  const error = thrown instanceof StatementError ? thrown.cause : thrown;
  const { code, message } = error as { code?: string; message?: string };
  const what = direction === 'up' ? `Migration ${work.target.scope}/${file.name} of plugin "${work.module.id}"` : `Undoing ${work.target.scope}/${file.name} of plugin "${work.module.id}" with ${downName(file)}`;
  const where = describeTarget(work.target);
  // 55P03 lock_not_available: a table lock did not come within lock_timeout.
  if (code === '55P03') return new TargetStop('locked', `${what} waited in ${where} longer than the lock timeout for a lock (another runner, or a long transaction on its tables); nothing of it ran. Run again later.`, code);
  const at = place ? ` at statement ${place.number} (line ${place.line}, column ${place.column})` : '';
  // 25001 active_sql_transaction: e.g. CREATE INDEX CONCURRENTLY reached through a function.
  const hint = code === '25001' ? ' Such a statement must run outside a transaction: put `-- migrate:no-transaction` on the file\'s first line.' : '';
  const undone = file.noTransaction ? 'It ran outside a transaction: statements before the failing one stay, and run again next time.' : 'It was rolled back.';
  return new TargetStop('failed', `${what} failed in ${where}${at}: ${message ?? String(error)}.${hint} ${undone}`, typeof code === 'string' ? code : null, place);
}

/**
 * Sends the statements one by one. A failing one is named by its number and by the line and
 * column PostgreSQL's error position points at (else the statement's own).
 */
async function runStatements(client: pg.ClientBase, sql: string, statements: SqlStatement[]): Promise<void> {
  for (const statement of statements) {
    try {
      await client.query(statement.text);
    } catch (error) {
      const at = Number((error as { position?: string }).position);
      const place = Number.isInteger(at) && at > 0 ? position(sql, statement.offset + at - 1) : statement;
      throw new StatementError(error, { number: statement.number, line: place.line, column: place.column });
    }
  }
}

/** The statements of `file` to send; a file the plan should have blocked stops its target here. */
function statementsOf(work: TargetWork, file: MigrationFile, direction: 'up' | 'down'): SqlStatement[] {
  const { statements, problems } = checkedSql(file, work.target.scope, direction);
  const problem = problems[0];
  if (problem) throw new TargetStop('failed', `Migration ${work.target.scope}/${direction === 'up' ? file.name : downName(file)} of plugin "${work.module.id}" can't run (line ${problem.line}, column ${problem.column}): ${problem.message}. Nothing of it ran.`);
  return statements;
}

function downName(file: MigrationFile): string {
  return file.name.replace(/\.sql$/, '.down.sql');
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

function lockKey(work: TargetWork): LockKey {
  return [work.module.id, work.target.schema];
}

/** The (plugin, schema) lock, or the target's stop when it does not come within the lock timeout. */
async function lockTarget(client: pg.ClientBase, work: TargetWork, options: ApplyOptions, scope: 'xact' | 'session'): Promise<void> {
  if (await tryLock(client, lockKey(work), scope, options.lockTimeoutMs)) return;
  throw new TargetStop('locked', `Migrations of plugin "${work.module.id}" in ${describeTarget(work.target)} waited ${options.lockTimeoutMs} ms for another runner working there; nothing ran. Run again later.`, '55P03');
}

/** @returns whether the file was applied by this call (false: another runner had done it). */
async function applyInTransaction(client: pg.ClientBase, work: TargetWork, file: MigrationFile, options: ApplyOptions): Promise<boolean> {
  return inTransaction(client, async () => {
    const statements = statementsOf(work, file, 'up');
    await enterTarget(client, work.target, options, true);
    await lockTarget(client, work, options, 'xact');
    if (await alreadyApplied(client, work, file)) return false;
    const started = performance.now();
    await runStatements(client, file.sql, statements);
    await recordApplied(client, ledgerKey(work, file), { version: work.module.version, checksum: file.checksum, runId: options.runId, executionMs: Math.round(performance.now() - started) });
    return true;
  });
}

/**
 * For `-- migrate:no-transaction` files (CREATE INDEX CONCURRENTLY cannot run in a transaction):
 * each statement runs on its own, under session locks, and the ledger row is written after the
 * last one. A run killed part-way runs the file again from the start, so such files must be
 * idempotent (`IF NOT EXISTS`).
 *
 * One such file runs at a time in a database: two CREATE INDEX CONCURRENTLY wait for each other's
 * snapshots, which PostgreSQL reports as a deadlock. The locks are polled (a waiting runner holds
 * no snapshot for a concurrent index build to wait for), and an index the file left invalid is a
 * failure: an interrupted build leaves one that `IF NOT EXISTS` would then skip for ever, so the
 * next run drops it before building it again.
 */
async function applyOutsideTransaction(client: pg.ClientBase, work: TargetWork, file: MigrationFile, options: ApplyOptions): Promise<boolean> {
  const statements = statementsOf(work, file, 'up');
  // Its search_path and locks are the session's: a transaction pooler would hand them to other clients.
  if (isPooledConnection(client)) {
    throw new TargetStop('failed', `Migration ${work.target.scope}/${file.name} of plugin "${work.module.id}" runs outside a transaction, on a session of its own, and this database is reached through a transaction pooler, which keeps no session: nothing of it ran. ` +
      'Run this migration against PostgreSQL directly, or through a session-mode pool (--database-url).');
  }
  await client.query('SELECT pg_catalog.set_config(\'lock_timeout\', $1, false)', [`${options.lockTimeoutMs}ms`]);
  await tryLock(client, NO_TRANSACTION_FILES, 'session', Number.POSITIVE_INFINITY);
  try {
    await lockTarget(client, work, options, 'session');
    if (await alreadyApplied(client, work, file)) return false;
    await enterTarget(client, work.target, options, false);
    const invalidBefore = new Set(await invalidIndexes(client, work.target.schema));
    for (const index of rebuildableIndexes(statements, invalidBefore)) {
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(work.target.schema)}.${quoteIdent(index)}`);
      invalidBefore.delete(index);
    }
    const started = performance.now();
    let failure: unknown;
    await runStatements(client, file.sql, statements).catch((error: unknown) => { failure = error; });
    const left = (await invalidIndexes(client, work.target.schema).catch(() => [])).filter((name) => !invalidBefore.has(name));
    if (left.length > 0) {
      const names = left.map((name) => `${work.target.schema}.${name}`).join(', ');
      const cause = failure === undefined ? undefined : asStop(failure, work, file);
      throw new TargetStop('failed', `${cause ? `${cause.message} ` : ''}Migration ${work.target.scope}/${file.name} of plugin "${work.module.id}" left ${left.length === 1 ? 'an invalid index' : 'invalid indexes'} in ${describeTarget(work.target)} (${names}): an index build was interrupted, so the file is not recorded. The next run drops ${left.length === 1 ? 'it' : 'them'} and builds again; to drop by hand: DROP INDEX CONCURRENTLY ${names};`, cause?.sqlState ?? null, cause?.statement);
    }
    if (failure !== undefined) throw failure;
    await recordApplied(client, ledgerKey(work, file), { version: work.module.version, checksum: file.checksum, runId: options.runId, executionMs: Math.round(performance.now() - started) });
    return true;
  } finally {
    // The connection goes back to a pool: it must carry none of this session's settings or locks.
    await client.query(`RESET search_path; RESET lock_timeout; RESET statement_timeout; ${sessionLockAll}`);
  }
}

/** Held while a no-transaction file runs: one at a time in a database. */
const NO_TRANSACTION_FILES: LockKey = ['foundation-module', 'no-transaction migrations'];

async function undoInTransaction(client: pg.ClientBase, work: TargetWork, file: MigrationFile, options: ApplyOptions): Promise<boolean> {
  return inTransaction(client, async () => {
    const statements = statementsOf(work, file, 'down');
    await enterTarget(client, work.target, options, true);
    await lockTarget(client, work, options, 'xact');
    const recorded = await recordedChecksum(client, ledgerKey(work, file));
    if (recorded === null) return false; // another runner undid it
    await runStatements(client, file.down!, statements);
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

