/**
 * Cron across several processes on one database. Two things are decided here:
 *
 * - Which process runs a job's ticks: the one holding the job's session-level advisory lock, taken
 *   with pg_try_advisory_lock on cron's own session (cron-session.ts) and kept while that session
 *   lives. Each tick asks the server whether this session still holds it (and takes it when free);
 *   when the holder stops or its session ends, the next tick of another process takes the job over.
 *   A lock per tick would not do: a process whose timer runs a few milliseconds late would find the
 *   first one's lock let go, and run the tick again.
 * - Whether a run may start in a tenant: its claim (run-leases.ts). The lock alone can't promise
 *   that runs never overlap: it goes with its session, and a session may be terminated while the
 *   job runs on; the claim is a row the running process keeps renewing until the run ends.
 *
 * Shared by the sandbox and, vendored, by a foundation's adapter: imports only pg and Node.
 */
import { createHash } from 'node:crypto';
import { createCronSession, type CronSessionOptions } from './cron-session.ts';
import { createRunLeases, type JobName, type RunLease } from './run-leases.ts';

/** Where a lost lock connection is reported: pino-style `(fields, message)`. */
export interface LockLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export interface RunLocksOptions extends CronSessionOptions {
  /** How long a run's claim lasts unless renewed (it is, every third of it, while the run goes on). @default 30000 */
  leaseMs?: number;
}

export interface RunLocks {
  /** Whether this process holds (or has just taken) the lock `key`; false when another does, or the database is out of reach. */
  holds(key: number): Promise<boolean>;
  /** Claims a run of the job in the tenant for the tick; undefined when another run holds it, the tick ran there already, or the database is out of reach. */
  claim(job: JobName, tenantId: string, tick: Date): Promise<RunLease | undefined>;
  /** Lets the locks go at once; the session ends when the runs under way have let their claims go. */
  close(): Promise<void>;
}

export type { JobName, RunLease } from './run-leases.ts';

/**
 * The first key of the two-int4 advisory lock form, which PostgreSQL keeps apart from the bigint
 * form the bootstrap and the migration runner lock with: ASCII "FMCR".
 */
const CRON_LOCK_SPACE = 0x464d4352;

/** The lock key of a plugin's `index`th job: the same in every process that loads the same code. */
export function jobLockKey(pluginId: string, index: number, spec: string): number {
  return createHash('sha256').update(`${pluginId}\0${index}\0${spec}`).digest().readUInt32BE(0) & 0x7fffffff;
}

const HOLD = `SELECT CASE
  WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_locks
                WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                  AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2)
  THEN true
  ELSE pg_try_advisory_lock($1::int4, $2::int4) END AS held`;

export function createRunLocks({ leaseMs, ...sessionOptions }: RunLocksOptions, logger: LockLogger): RunLocks {
  const session = createCronSession(sessionOptions);
  const leases = createRunLeases(session, logger, leaseMs);
  let closed = false;
  let warned = false;

  /** Said once until the database answers again: a tick or a tenant at a time would flood the log. */
  function unreachable(error: unknown): undefined {
    if (!warned) logger.warn({ err: error }, 'cron: a query on its own connection failed; jobs wait until it answers');
    warned = true;
    return undefined;
  }

  return {
    async holds(key) {
      if (closed) return false;
      try {
        const { rows } = await session.query<{ held: boolean }>(HOLD, [CRON_LOCK_SPACE, key]);
        warned = false;
        return rows[0]?.held === true;
      } catch (error) {
        unreachable(error);
        return false;
      }
    },
    async claim(job, tenantId, tick) {
      if (closed) return undefined;
      try {
        const lease = await leases.claim(job, tenantId, tick);
        warned = false;
        return lease;
      } catch (error) {
        return unreachable(error);
      }
    },
    async close() {
      closed = true;
      if (!leases.busy()) return session.end(); // the locks go with the session
      // The locks go now, so another process takes the jobs over at its next tick; runs still under
      // way here keep their claims (renewed on this session) until they end.
      await session.query('SELECT pg_advisory_unlock_all()').catch(() => {});
      void leases.close().then(() => session.end());
    },
  };
}
