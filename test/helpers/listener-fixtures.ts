/**
 * What the change-listener and enablement-cache tests share: "another process" (its own
 * connection, changing rows and notifying in one transaction, as the CLI does), polling an answer
 * until the contract's deadline, finding the listener's session, and a log of the queries a
 * sandbox's pool sends.
 */
import pg from 'pg';
import { notifyChange, type Change } from '../../sandbox/data/changes.ts';
import { LISTENER_APPLICATION_NAME } from '../../sandbox/data/change-listener.ts';
import { HEARTBEAT_QUERY } from '../../sandbox/data/listener-heartbeat.ts';

/** The contract: a change made elsewhere takes effect within one second. */
export const WITHIN_ONE_SECOND = 1_000;
/**
 * After the listener's connection dropped: "within about a second". The reconnection waits 100 ms
 * first, and while it can't reconnect the caches are re-read every second, plus the read itself.
 */
export const ABOUT_A_SECOND = 1_500;

/** One SQL statement, with its parameters if it has any. */
export type Statement = string | [sql: string, params: unknown[]];

export interface OtherProcess {
  /** Runs `statements` and sends `change` in one transaction, as the CLI's commands do. */
  change(change: Change, ...statements: Statement[]): Promise<void>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** One connection of its own (not the sandbox's pool), opened now and kept: it needs no new connection later. */
export async function otherProcess(databaseUrl: string): Promise<OtherProcess> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'test-other-process' });
  client.on('error', () => {});
  await client.connect();
  return {
    async change(change, ...statements) {
      await client.query('BEGIN');
      try {
        for (const statement of statements) {
          const [sql, params] = typeof statement === 'string' ? [statement, []] : statement;
          await client.query(sql, params);
        }
        await notifyChange(client, change);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    query: async (sql, params) => (await client.query(sql, params)).rows,
    close: () => client.end(),
  };
}

/**
 * Polls `check` until it returns true, and returns how long that took (ms) since `since` (a
 * `performance.now()`, e.g. taken at the COMMIT; default now). Throws naming `what` and the last
 * value seen when `deadlineMs` passes first.
 */
export async function within(deadlineMs: number, what: string, check: () => Promise<boolean | { ok: boolean; seen: unknown }>, since = performance.now()): Promise<number> {
  const started = since;
  let seen: unknown;
  for (;;) {
    const result = await check();
    const ok = typeof result === 'boolean' ? result : result.ok;
    seen = typeof result === 'boolean' ? result : result.seen;
    const elapsed = performance.now() - started;
    if (ok) return elapsed;
    if (elapsed > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms (after ${Math.round(elapsed)} ms, last seen: ${JSON.stringify(seen)})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The backend pid of each change-listener session on `db`'s database that has run its LISTEN (its heartbeats come after it). */
export async function listenerPids(db: Pick<OtherProcess, 'query'>): Promise<number[]> {
  const rows = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND (query LIKE 'LISTEN %' OR query = $2) ORDER BY pid`,
    [LISTENER_APPLICATION_NAME, HEARTBEAT_QUERY]);
  return rows.map((r) => r.pid);
}

export interface QueryLog {
  /** The text of each query sent through the pool since the last `clear()`. */
  readonly texts: string[];
  clear(): void;
  stop(): void;
}

/**
 * Records every query sent through `pool`, by `pool.query` or a checked-out client: each client
 * is wrapped when the pool hands it out ('acquire'), which every query goes through.
 */
export function logQueries(pool: pg.Pool): QueryLog {
  const texts: string[] = [];
  let active = true;
  const wrapped = new WeakSet<pg.PoolClient>();
  const onAcquire = (client: pg.PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text?: string };
      if (active) texts.push(typeof first === 'string' ? first : first?.text ?? String(first));
      return query(...args);
    };
  };
  pool.on('acquire', onAcquire);
  return {
    texts,
    clear: () => void texts.splice(0),
    stop() {
      active = false;
      pool.removeListener('acquire', onAcquire);
    },
  };
}

/** Whether a query reads or writes plugin enablement. */
export const touchesEnablement = (text: string): boolean => /sys_plugins|sys_tenant_plugins/.test(text);
