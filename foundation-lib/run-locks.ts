/**
 * Which process runs a cron job when several share a database: the one holding the job's
 * session-level advisory lock, taken with pg_try_advisory_lock on a connection of its own and kept
 * while that connection lives. A lock per tick would not do: a process whose clock or timer runs a
 * few milliseconds late would find the first one's lock already let go, and run the tick again.
 *
 * Each tick asks the server whether this session still holds the lock (and takes it when free),
 * so a lost connection, and with it the lock, is noticed before the job runs, not after. When the
 * holder stops or its connection ends, the next tick of another process takes the job over.
 *
 * Shared by the sandbox and, vendored, by a foundation's adapter: imports only pg and Node.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

/** Where a lost lock connection is reported: pino-style `(fields, message)`. */
export interface LockLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface RunLocksOptions {
  /** Where to connect (the pool's own settings: the same database, user and timeouts). */
  connection: pg.ClientConfig;
  /** How the lock session shows in pg_stat_activity. @default 'foundation-sandbox-cron' */
  applicationName?: string;
  /** The session does not keep the process alive (a foundation that never stops its jobs still exits). @default false */
  unref?: boolean;
}

export interface RunLocks {
  /** Whether this process holds (or has just taken) the lock `key`; false when another does, or the database is out of reach. */
  holds(key: number): Promise<boolean>;
  close(): Promise<void>;
}

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

export function createRunLocks({ connection, applicationName = 'foundation-sandbox-cron', unref = false }: RunLocksOptions, logger: LockLogger): RunLocks {
  let session: Promise<pg.Client> | undefined;
  let closed = false;
  let warned = false;

  function connect(): Promise<pg.Client> {
    if (session) return session;
    const client = new pg.Client({ ...connection, application_name: applicationName });
    // The locks go with the session: a broken one is dropped, and the next tick connects again.
    const drop = () => {
      if (session === attempt) session = undefined;
      client.end().catch(() => {});
    };
    client.on('error', drop);
    client.on('end', drop);
    const attempt = client.connect().then(() => {
      // pg has no option for it: its socket, unref'd, leaves the process free to exit when nothing else runs.
      if (unref) (client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
      return client;
    }, (error: unknown) => {
      drop();
      throw error;
    });
    session = attempt;
    return attempt;
  }

  return {
    async holds(key) {
      if (closed) return false;
      try {
        const client = await connect();
        const { rows } = await client.query<{ held: boolean }>(HOLD, [CRON_LOCK_SPACE, key]);
        warned = false;
        return rows[0]?.held === true;
      } catch (error) {
        if (!warned) logger.warn({ err: error }, 'cron: the connection holding the run locks failed; jobs wait until it is back');
        warned = true;
        return false;
      }
    },
    async close() {
      closed = true;
      const current = session;
      session = undefined;
      const client = await current?.catch(() => undefined);
      // Ending the session lets its locks go: another process takes the jobs over at its next tick.
      await client?.end().catch(() => {});
    },
  };
}
