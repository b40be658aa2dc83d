/**
 * The run journal: what a migration run set out to do and how each (plugin, schema) ended, with
 * the error, file and SQL state of a failure. The ledger says what is applied; the journal says
 * what happened, so that a failed or killed run can be described and resumed (`--resume <run>`).
 *
 * A (plugin, schema) that fails `maxAttempts` runs in a row is quarantined: later runs skip it and
 * report it (exit code 3) until it succeeds with `--retry-quarantined`.
 *
 * A failure is written at once. Successes are written in batches (every FLUSH_EVERY targets, and
 * at the end): per tenant that saves two round trips and two commits. A run killed before a flush
 * leaves some done targets `pending` in its journal; the ledger, written with each file, is what
 * a re-run or `--resume` goes by.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import type { TargetOutcome } from './apply.ts';
import type { TargetWork } from './plan.ts';

export interface RunArgs {
  direction: 'up' | 'down';
  plugins?: string[];
  tenants?: string[];
  from?: number;
  to?: number;
}

/** Successes written per batch. */
const FLUSH_EVERY = 200;

export interface Journal {
  runId: string;
  /** Records how one target ended; for a failure, counts it toward quarantine. @returns whether the target is now quarantined */
  targetEnded(work: TargetWork, outcome: TargetOutcome, startedAt: Date): Promise<boolean>;
  /** Writes the successes not written yet, then the run's end. */
  finish(succeeded: boolean): Promise<void>;
}

/** Opens a run (or reopens `resumeRunId`) with every planned target as `pending`, in two statements. */
export async function openJournal(db: pg.Pool, { args, work, resumeRunId, maxAttempts }: { args: RunArgs; work: TargetWork[]; resumeRunId?: string; maxAttempts: number }): Promise<Journal> {
  const runId = resumeRunId ?? randomUUID();
  if (resumeRunId) {
    await db.query(`UPDATE public.sys_migration_runs SET status = 'running', finished_at = NULL, pid = $2, host = $3 WHERE run_id = $1`, [runId, process.pid, os.hostname()]);
  } else {
    await db.query(
      `INSERT INTO public.sys_migration_runs (run_id, command, args, status, host, pid) VALUES ($1, $2, $3, 'running', $4, $5)`,
      [runId, args.direction, JSON.stringify(args), os.hostname(), process.pid]);
  }
  const runnable = work.filter((w) => !w.blocked);
  await db.query(
    `INSERT INTO public.sys_migration_run_targets (run_id, plugin_id, schema_name, tenant_id, state)
     SELECT $1, p, s, t, 'pending' FROM unnest($2::text[], $3::text[], $4::uuid[]) AS x(p, s, t)
     ON CONFLICT (run_id, plugin_id, schema_name) DO UPDATE SET state = 'pending', error = NULL, sql_state = NULL, file = NULL`,
    [runId, runnable.map((w) => w.module.id), runnable.map((w) => w.target.schema), runnable.map((w) => w.target.tenantId)]);

  let successes: { plugin: string; schema: string; applied: string[]; startedAt: Date }[] = [];
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    const batch = successes;
    successes = [];
    if (batch.length === 0) return flushing;
    // One flush at a time, in order; each is one statement (one transaction).
    flushing = flushing.then(() => db.query(
      `WITH done AS (SELECT * FROM json_to_recordset($2::json) AS d(plugin text, schema text, applied text[], "startedAt" timestamptz)),
            updated AS (UPDATE public.sys_migration_run_targets t
                           SET state = 'done', applied = t.applied || done.applied, file = NULL, error = NULL, sql_state = NULL,
                               started_at = done."startedAt", finished_at = now()
                          FROM done WHERE t.run_id = $1 AND t.plugin_id = done.plugin AND t.schema_name = done.schema)
       DELETE FROM public.sys_migration_quarantine q USING done WHERE q.plugin_id = done.plugin AND q.schema_name = done.schema`,
      [runId, JSON.stringify(batch)]).then(() => undefined));
    return flushing;
  };

  return {
    runId,
    async targetEnded(w, outcome, startedAt) {
      if (outcome.state === 'done') {
        successes.push({ plugin: w.module.id, schema: w.target.schema, applied: outcome.applied, startedAt });
        if (successes.length >= FLUSH_EVERY) await flush();
        return false;
      }
      await db.query(
        `UPDATE public.sys_migration_run_targets
            SET state = $4, applied = applied || $5::text[], file = $6, error = $7, sql_state = $8, started_at = $9, finished_at = now()
          WHERE run_id = $1 AND plugin_id = $2 AND schema_name = $3`,
        [runId, w.module.id, w.target.schema, outcome.state, outcome.applied, outcome.file, outcome.error, outcome.sqlState, startedAt]);
      // A lock that did not come is someone else's work in progress, not this target's fault.
      if (outcome.state === 'locked') return false;
      const { rows } = await db.query<{ quarantined: boolean }>(
        `INSERT INTO public.sys_migration_quarantine (plugin_id, schema_name, tenant_id, failures, file, error, sql_state, run_id, quarantined_at)
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7, CASE WHEN $8::int <= 1 THEN now() END)
         ON CONFLICT (plugin_id, schema_name) DO UPDATE
           SET failures = sys_migration_quarantine.failures + 1, file = EXCLUDED.file, error = EXCLUDED.error, sql_state = EXCLUDED.sql_state,
               run_id = EXCLUDED.run_id, updated_at = now(),
               quarantined_at = CASE WHEN sys_migration_quarantine.failures + 1 >= $8::int THEN coalesce(sys_migration_quarantine.quarantined_at, now()) END
         RETURNING quarantined_at IS NOT NULL AS quarantined`,
        [w.module.id, w.target.schema, w.target.tenantId, outcome.file, outcome.error, outcome.sqlState, runId, maxAttempts]);
      return rows[0]!.quarantined;
    },
    async finish(succeeded) {
      await flush();
      await db.query(`UPDATE public.sys_migration_runs SET status = $2, finished_at = now() WHERE run_id = $1`, [runId, succeeded ? 'succeeded' : 'failed']);
    },
  };
}

/** The arguments a run was started with, for `--resume`; undefined when there is no such run. */
export async function readRunArgs(db: pg.Pool, runId: string): Promise<RunArgs | undefined> {
  const { rows } = await db.query<{ args: RunArgs }>('SELECT args FROM public.sys_migration_runs WHERE run_id = $1', [runId]);
  return rows[0]?.args;
}
