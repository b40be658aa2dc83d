/**
 * Runs jobs (jobs.ts). A worker in each process looks for running jobs whose lease is free or
 * has expired, takes one, and works on it: wave by wave, `concurrency` tenants at a time, each
 * tenant's change made by the same services as the CLI, as the job's creator. It renews the
 * lease as it goes and stops, after the tenants in hand, when the job is paused or cancelled.
 *
 * Killed part-way (SIGKILL, a lost host), it leaves a lease that expires: another worker (or the
 * next start) takes the job over, puts the tenants left `running` back to pending and goes on.
 * Each change is idempotent (an enable of an enabled tenant, a migration already applied), so a
 * tenant taken up twice is changed once. The guardrail pauses the job, with its reason, when
 * the plugin's error rate over the last minute goes above the job's threshold.
 */
import os from 'node:os';
import type pg from 'pg';
import { actAs } from '../../sandbox/data/transaction-actor.ts';
import type { RecentFigures } from '../../sandbox/observability/plugin-stats.ts';
import type { ModuleMigrations } from '../migrations/plan.ts';
import { runMigrations } from '../migrations/runner.ts';
import { disablePlugin, enablePlugin } from '../registry/enablement.ts';
import { applyRoleTemplate, roleTemplateDiffs } from '../registry/role-templates.ts';
import type { Guardrail, JobKind } from './jobs.ts';

export interface JobWorkerOptions {
  pool: pg.Pool;
  modules: ModuleMigrations[];
  /** Who holds a lease, for the operator reading the job. @default `<host>:<pid>` and a random part */
  owner?: string;
  /** How long a lease lasts without renewal: how soon a killed worker's job is taken over. @default 15 s */
  leaseMs?: number;

  /** The plugin's figures over the last minute, for the guardrail; without them no guardrail can trip. */
  lastMinute?: (pluginId: string) => RecentFigures;
  onError?: (error: unknown) => void;
}

export interface JobWorker {
  /** Look for work now: a job was created, resumed or retried (here, or elsewhere: the change channel's `jobs`). */
  kick(): void;
  /** Stops taking work; resolves once the tenants in hand are done. */
  close(): Promise<void>;
}

interface ClaimedJob {
  id: string;
  kind: JobKind;
  plugin_id: string;
  concurrency: number;
  guardrail: Guardrail | null;
  created_by: string;
}

export function startJobWorker({ pool, modules, owner = `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`, leaseMs = 15_000, lastMinute, onError = () => {} }: JobWorkerOptions): JobWorker {
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let working: Promise<void> | undefined;
  const lease = `${Math.max(1, Math.round(leaseMs))} milliseconds`;

  const claim = async (): Promise<ClaimedJob | undefined> => {
    const { rows: [job] } = await pool.query<ClaimedJob>(
      `UPDATE public.sys_admin_jobs SET lease_owner = $1, lease_until = now() + $2::interval
        WHERE id = (SELECT id FROM public.sys_admin_jobs WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $1)
                     ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id::text AS id, kind, plugin_id, concurrency, guardrail, created_by`, [owner, lease]);
    if (!job) return undefined;
    // Whoever held it before is gone: what it had in hand is to do again.
    await pool.query(`UPDATE public.sys_admin_job_targets SET state = 'pending' WHERE job_id = $1 AND state = 'running'`, [job.id]);
    return job;
  };

  /** Renews the lease; false when the job is no longer ours to run (paused, cancelled, taken over). */
  const renew = async (id: string): Promise<boolean> => {
    const { rowCount } = await pool.query(`UPDATE public.sys_admin_jobs SET lease_until = now() + $3::interval WHERE id = $1 AND lease_owner = $2 AND status = 'running'`, [id, owner, lease]);
    return rowCount === 1;
  };

  const change = async (job: ClaimedJob, tenant: { id: string; code: string }): Promise<string | undefined> => {
    const module = modules.find((m) => m.id === job.plugin_id);
    if (!module) return `This process does not run plugin ${job.plugin_id}.`;
    const ref = { id: tenant.id, code: tenant.code, schema: '' };
    if (job.kind === 'disable') {
      await disablePlugin(pool, job.plugin_id, [ref]);
      return undefined;
    }
    if (job.kind === 'roles') {
      for (const diff of await roleTemplateDiffs(pool, job.plugin_id, { tenants: [tenant.code] })) {
        await applyRoleTemplate(pool, job.plugin_id, tenant.code, diff.role, job.created_by);
      }
      return undefined;
    }
    const report = job.kind === 'enable'
      ? (await enablePlugin({ pool, module, tenants: [ref] })).migrations
      : await runMigrations({ pool, modules: [module], plugins: [module.id], tenants: [tenant.code] });
    const failed = [...report.results.filter((r) => r.outcome.state !== 'done').map((r) => (r.outcome as { error?: string }).error ?? r.outcome.state), ...report.blocked.map((w) => w.blocked!.message)];
    return failed.length > 0 || report.exitCode !== 0 ? (failed.join(' ') || `the migration run ended with exit code ${report.exitCode}`) : undefined;
  };

  const runOne = async (job: ClaimedJob, tenant: { id: string; code: string }): Promise<void> => {
    let error: string | undefined;
    try {
      error = await actAs({ actor: job.created_by, source: 'api', requestId: `job:${job.id}` }, () => change(job, tenant));
    } catch (thrown) {
      error = (thrown as Error).message;
    }
    await pool.query(
      `WITH t AS (UPDATE public.sys_admin_job_targets SET state = $3, error = $4, finished_at = now() WHERE job_id = $1 AND tenant_id = $2 AND state = 'running' RETURNING 1)
       UPDATE public.sys_admin_jobs SET seq = seq + 1, updated_at = now() WHERE id = $1 AND EXISTS (SELECT 1 FROM t)`,
      [job.id, tenant.id, error === undefined ? 'done' : 'failed', error?.slice(0, 4000) ?? null]);
  };

  /** The guardrail's reason to pause, if it trips now. */
  const tripped = (job: ClaimedJob): string | undefined => {
    if (!job.guardrail || !lastMinute) return undefined;
    const figures = lastMinute(job.plugin_id);
    const least = job.guardrail.minRequests ?? 20;
    if (figures.requests < least || figures.errorRate <= job.guardrail.maxErrorRate) return undefined;
    const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;
    return `guardrail: plugin ${job.plugin_id} answered ${figures.errors} of its ${figures.requests} requests of the last minute with an error (${percent(figures.errorRate)}), above the job's ${percent(job.guardrail.maxErrorRate)}`;
  };

  const work = async (job: ClaimedJob): Promise<void> => {
    while (!closed && (await renew(job.id))) {
      const reason = tripped(job);
      if (reason) {
        await actAs({ actor: job.created_by, source: 'api', requestId: `job:${job.id}` }, () => pool.query(
          `UPDATE public.sys_admin_jobs SET status = 'paused', pause_reason = $2, seq = seq + 1, updated_at = now() WHERE id = $1 AND status = 'running'`, [job.id, reason]));
        return;
      }
      // The next tenants of the first wave with any left; a wave starts once the one before is finished.
      const { rows: batch } = await pool.query<{ id: string; code: string }>(
        `WITH next AS (
           SELECT tenant_id FROM public.sys_admin_job_targets
            WHERE job_id = $1 AND state = 'pending'
              AND wave = (SELECT min(wave) FROM public.sys_admin_job_targets WHERE job_id = $1 AND state IN ('pending', 'running'))
            ORDER BY position LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE public.sys_admin_job_targets t SET state = 'running', attempts = attempts + 1, started_at = now()
           FROM next WHERE t.job_id = $1 AND t.tenant_id = next.tenant_id
         RETURNING t.tenant_id::text AS id, t.tenant_code AS code`, [job.id, job.concurrency]);
      if (batch.length === 0) {
        await actAs({ actor: job.created_by, source: 'api', requestId: `job:${job.id}` }, () => pool.query(
          `UPDATE public.sys_admin_jobs SET status = 'done', finished_at = now(), seq = seq + 1, updated_at = now(), lease_owner = NULL, lease_until = NULL
            WHERE id = $1 AND status = 'running' AND NOT EXISTS (SELECT 1 FROM public.sys_admin_job_targets WHERE job_id = $1 AND state IN ('pending', 'running'))`, [job.id]));
        return;
      }
      await pool.query(`UPDATE public.sys_admin_jobs SET seq = seq + 1, updated_at = now() WHERE id = $1`, [job.id]);
      // Every tenant of the batch settles before anything else happens: none is left in flight.
      const settled = await Promise.allSettled(batch.map((tenant) => runOne(job, tenant)));
      const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failure) throw failure.reason;
    }
  };

  /**
   * When to look again with nothing to take: when the earliest lease of a job another worker runs
   * ends (it may have died); never while no job runs anywhere, so an idle process sends no query.
   * @returns milliseconds, or undefined to wait for a kick
   */
  const nextLook = async (): Promise<number | undefined> => {
    const { rows } = await pool.query<{ ms: number | null }>(
      `SELECT ceil(extract(epoch FROM min(lease_until) - now()) * 1000)::int AS ms FROM public.sys_admin_jobs WHERE status = 'running' AND lease_owner IS DISTINCT FROM $1`, [owner]);
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? undefined : Math.max(0, ms) + 50;
  };

  /** Works on every job it can take; then says when to look again (undefined: when kicked). */
  const tick = async (): Promise<number | undefined> => {
    try {
      for (let job = await claim(); job && !closed; job = await claim()) await work(job);
      return closed ? undefined : await nextLook();
    } catch (error) {
      onError(error);
      return leaseMs; // the database, most likely: try again after a lease's time
    }
  };

  let again = false;
  const schedule = (delay: number) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (working) {
        again = true; // a kick while working: look once more when done
        return;
      }
      working = tick().then((next) => {
        working = undefined;
        if (again) {
          again = false;
          schedule(0);
        } else if (next !== undefined) schedule(next);
      });
    }, delay);
  };
  schedule(0);

  return {
    kick: () => schedule(0),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await working;
    },
  };
}
