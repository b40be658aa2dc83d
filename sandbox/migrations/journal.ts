/**
 * The run journal: what a migration run set out to do and how each (plugin, schema) ended, with
 * the error, file and SQL state of a failure. The ledger says what is applied; the journal says
 * what happened, so that a failed or killed run can be described and resumed (`--resume <run>`).
 *
 * A (plugin, schema) that fails `maxAttempts` runs in a row is quarantined: later runs skip it and
 * report it (exit code 3) until it succeeds with `--retry-quarantined`.
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

export interface Journal {
  runId: string;
  /** Records how one target ended; for a failure, counts it toward quarantine. @returns whether the target is now quarantined */
  targetEnded(work: TargetWork, outcome: TargetOutcome, startedAt: Date): Promise<boolean>;
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

  return {
    runId,
    async targetEnded(w, outcome, startedAt) {
      const failed = outcome.state !== 'done';
      await db.query(
        `UPDATE public.sys_migration_run_targets
            SET state = $4, applied = applied || $5::text[], file = $6, error = $7, sql_state = $8, started_at = $9, finished_at = now()
          WHERE run_id = $1 AND plugin_id = $2 AND schema_name = $3`,
        [runId, w.module.id, w.target.schema, outcome.state, outcome.applied, failed ? outcome.file : null, failed ? outcome.error : null, failed ? outcome.sqlState : null, startedAt]);
      // A lock that did not come is someone else's work in progress, not this target's fault.
      if (outcome.state === 'locked') return false;
      if (outcome.state === 'done') {
        await db.query('DELETE FROM public.sys_migration_quarantine WHERE plugin_id = $1 AND schema_name = $2', [w.module.id, w.target.schema]);
        return false;
      }
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
      await db.query(`UPDATE public.sys_migration_runs SET status = $2, finished_at = now() WHERE run_id = $1`, [runId, succeeded ? 'succeeded' : 'failed']);
    },
  };
}

/** The arguments a run was started with, for `--resume`; undefined when there is no such run. */
export async function readRunArgs(db: pg.Pool, runId: string): Promise<RunArgs | undefined> {
  const { rows } = await db.query<{ args: RunArgs }>('SELECT args FROM public.sys_migration_runs WHERE run_id = $1', [runId]);
  return rows[0]?.args;
}
