/**
 * Which run owns a job in a tenant: a row of `public.sys_cron_runs` per (plugin, job, tenant),
 * claimed before the run starts, renewed while it runs and let go when it ends. A row, not an
 * advisory lock: a lock dies with its session, and a session can be terminated (or its
 * connection lost) while the job, in the same process, goes on running. The row stays claimed
 * for as long as the running process renews it, whatever becomes of any session.
 *
 * The claim also records the tick, so a tick runs at most once in a tenant: a process whose timer
 * fires late finds the tick taken. A process that dies leaves its claim until the lease runs out
 * (`leaseMs`); another process may then run the job's next tick there.
 *
 * Shared by the sandbox and, vendored, by a foundation's adapter: imports only pg's types and Node.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { CronSession } from './cron-session.ts';

export interface LeaseLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** A job as named across processes: its plugin, and its place and spec in the plugin's `register` calls. */
export interface JobName {
  pluginId: string;
  job: string;
}

export interface RunLease {
  /** Set when the claim was found taken by another run (it was not renewed in time). */
  readonly lost: boolean;
  /** Lets the claim go (only if still this run's): the job's next tick may run anywhere. */
  release(): Promise<void>;
}

export interface RunLeases {
  /** Claims the job in the tenant for the tick; undefined when another run holds it or the tick already ran there. Throws on a database error. */
  claim(job: JobName, tenantId: string, tick: Date): Promise<RunLease | undefined>;
  /** Whether runs under way hold claims. */
  busy(): boolean;
  /** Claims no more; resolves once every run under way has let its claim go (renewing them meanwhile). */
  close(): Promise<void>;
}

/** How long a claim lasts unless renewed: a dead process's jobs wait this long in its tenants. */
export const DEFAULT_LEASE_MS = 30_000;

const CREATE_TABLE = `
SELECT pg_advisory_xact_lock(1179468626, -1);
CREATE TABLE IF NOT EXISTS public.sys_cron_runs (
  plugin_id text NOT NULL,
  job text NOT NULL,
  tenant_id text NOT NULL,
  last_tick timestamptz NOT NULL,
  run_id uuid,
  holder text,
  started_at timestamptz,
  lease_until timestamptz,
  ended_at timestamptz,
  PRIMARY KEY (plugin_id, job, tenant_id)
)`;

// The server's clock decides whether a claim ran out: processes' clocks may differ.
const CLAIM = `
INSERT INTO public.sys_cron_runs AS r (plugin_id, job, tenant_id, last_tick, run_id, holder, started_at, lease_until)
VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), clock_timestamp() + $7::int * interval '1 millisecond')
ON CONFLICT (plugin_id, job, tenant_id) DO UPDATE
   SET last_tick = excluded.last_tick, run_id = excluded.run_id, holder = excluded.holder,
       started_at = excluded.started_at, lease_until = excluded.lease_until, ended_at = NULL
 WHERE r.last_tick < excluded.last_tick AND (r.run_id IS NULL OR r.lease_until < clock_timestamp())
RETURNING r.run_id`;

const RENEW = `
UPDATE public.sys_cron_runs r SET lease_until = clock_timestamp() + $5::int * interval '1 millisecond'
  FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) AS k(plugin_id, job, tenant_id, run_id)
 WHERE r.plugin_id = k.plugin_id AND r.job = k.job AND r.tenant_id = k.tenant_id AND r.run_id = k.run_id
RETURNING r.run_id::text AS run_id`;

const RELEASE = `
UPDATE public.sys_cron_runs SET run_id = NULL, lease_until = NULL, ended_at = clock_timestamp()
 WHERE plugin_id = $1 AND job = $2 AND tenant_id = $3 AND run_id = $4`;

interface ActiveRun extends JobName {
  tenantId: string;
  runId: string;
  lost: boolean;
  renewedAt: number;
  overdue: boolean;
}

export function createRunLeases(session: CronSession, logger: LeaseLogger, leaseMs = DEFAULT_LEASE_MS): RunLeases {
  const holder = `${os.hostname()} pid ${process.pid}`;
  const active = new Map<string, ActiveRun>();
  let table: Promise<void> | undefined;
  let renewing: NodeJS.Timeout | undefined;
  let closed = false;
  let settle: (() => void) | undefined;

  function ensureTable(): Promise<void> {
    // Checked once per process. Looked up first: a user who may not create tables in public still
    // runs jobs once the owner created it; the advisory lock keeps two first CREATEs from colliding.
    table ??= (async () => {
      const { rows } = await session.query<{ present: boolean }>("SELECT to_regclass('public.sys_cron_runs') IS NOT NULL AS present");
      if (rows[0]?.present) return;
      try {
        await session.query(CREATE_TABLE);
      } catch (error) {
        throw new Error(`cron could not create public.sys_cron_runs, where each run claims its tenant (${(error as Error).message}): `
          + 'create it as the database owner (docs/operations.md, "Cron jobs across processes"); no job runs until it exists.', { cause: error });
      }
    })().catch((error: unknown) => {
      table = undefined;
      throw error;
    });
    return table;
  }

  async function renew(): Promise<void> {
    const runs = [...active.values()].filter((run) => !run.lost);
    if (runs.length === 0) return;
    try {
      const { rows } = await session.query<{ run_id: string }>(RENEW, [
        runs.map((r) => r.pluginId), runs.map((r) => r.job), runs.map((r) => r.tenantId), runs.map((r) => r.runId), leaseMs,
      ]);
      const kept = new Set(rows.map((row) => row.run_id));
      const now = Date.now();
      for (const run of runs) {
        if (kept.has(run.runId)) {
          run.renewedAt = now;
          run.overdue = false;
          continue;
        }
        run.lost = true;
        logger.error({ pluginId: run.pluginId, job: run.job, tenantId: run.tenantId, runId: run.runId },
          'cron run lost its claim (not renewed in time): another process may run this job in this tenant while it still runs here');
      }
    } catch (error) {
      for (const run of runs) {
        if (run.overdue || Date.now() - run.renewedAt < leaseMs) continue;
        run.overdue = true;
        logger.error({ err: error, pluginId: run.pluginId, job: run.job, tenantId: run.tenantId, runId: run.runId },
          'cron run could not renew its claim for as long as it lasts: another process may run this job in this tenant while it still runs here');
      }
      logger.warn({ err: error }, 'cron: renewing the claims of the runs under way failed; trying again');
    }
  }

  function track(run: ActiveRun): void {
    active.set(run.runId, run);
    // A third of the lease: two renewals may fail before another process could claim.
    renewing ??= setInterval(() => void renew(), Math.max(10, Math.floor(leaseMs / 3)));
    renewing.unref();
  }

  function untrack(run: ActiveRun): void {
    active.delete(run.runId);
    if (active.size > 0) return;
    clearInterval(renewing);
    renewing = undefined;
    settle?.();
  }

  return {
    async claim(job, tenantId, tick) {
      if (closed) return undefined;
      await ensureTable();
      const runId = randomUUID();
      const { rows } = await session.query(CLAIM, [job.pluginId, job.job, tenantId, tick, runId, holder, leaseMs]);
      if (rows.length === 0) return undefined;
      const run: ActiveRun = { ...job, tenantId, runId, lost: false, renewedAt: Date.now(), overdue: false };
      track(run);
      return {
        get lost() {
          return run.lost;
        },
        async release() {
          try {
            await session.query(RELEASE, [run.pluginId, run.job, run.tenantId, run.runId]);
          } catch (error) {
            // The claim then lasts until its lease runs out: the job waits that long here, and never overlaps.
            logger.warn({ err: error, pluginId: run.pluginId, job: run.job, tenantId: run.tenantId }, 'cron: a finished run could not let its claim go; it lapses on its own');
          } finally {
            untrack(run);
          }
        },
      };
    },
    busy: () => active.size > 0,
    async close() {
      closed = true;
      if (active.size === 0) return;
      await new Promise<void>((resolve) => (settle = resolve));
    },
  };
}
