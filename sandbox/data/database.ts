/**
 * The sandbox's connection pool: to `DATABASE_URL` when given, else to an embedded PostgreSQL
 * started under the sandbox directory. Every other file receives the pool; none opens its own.
 */
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../embedded-postgres/cluster.ts';
import { integerFromEnv } from '../env-settings.ts';
import { SandboxStartError } from '../errors.ts';
import { beginStatement, connectionModeFromEnv, detectConnectionMode, setTimeoutsPerTransaction, startupTimeouts, type ConnectionMode } from './connection-mode.ts';
import { currentActor } from './transaction-actor.ts';

export interface DatabaseOptions {
  /** A PostgreSQL server of your own. @default process.env.DATABASE_URL, else the embedded server */
  databaseUrl?: string;
  /** A pool you own: used as is and never closed by the sandbox. Wins over `databaseUrl`. */
  pool?: pg.Pool;
  /** Folder for the embedded server's data and log. @default `<cwd>/.sandbox` */
  sandboxDir?: string;
  /** Pool size (at least 2: bootstrap holds its lock on one connection and migrates on another). @default SANDBOX_POOL_MAX, else 10 */
  maxConnections?: number;
  /**
   * How long a request waits for a free pooled connection (or a new one) before it is answered
   * 503 `DATABASE_BUSY`, instead of hanging. @default SANDBOX_POOL_ACQUIRE_TIMEOUT_MS, else 5000
   */
  acquireTimeoutMs?: number;
  /** PostgreSQL `statement_timeout` of the sandbox's sessions; 0 = none. @default SANDBOX_STATEMENT_TIMEOUT_MS, else 30000 */
  statementTimeoutMs?: number;
  /**
   * PostgreSQL `idle_in_transaction_session_timeout`: a session left idle inside a transaction for
   * this long is ended by the server, freeing its locks and its pool slot; 0 = never.
   * @default SANDBOX_IDLE_IN_TRANSACTION_TIMEOUT_MS, else 15000
   */
  idleInTransactionTimeoutMs?: number;
  /**
   * How the two timeouts reach the sessions: `direct` in each session's startup packet, `pooled`
   * with SET LOCAL in each transaction (behind PgBouncer and other transaction poolers, which refuse
   * such startup parameters and share sessions); `auto` finds out on the first connection
   * (connection-mode.ts). @default SANDBOX_CONNECTION_MODE, else 'auto'
   */
  connectionMode?: ConnectionMode | 'auto';
  /**
   * Where the connections that need a session of their own go (the change listener's LISTEN, cron's
   * run locks): PostgreSQL itself, or a pooler database in session mode. Behind a transaction
   * pooler they can't keep one. @default SANDBOX_SESSION_DATABASE_URL, else the pool's own URL
   */
  sessionDatabaseUrl?: string;
  /** Use the embedded server a running `npm run dev` serves from `sandboxDir`, instead of refusing (the operator commands). @default false */
  shareRunningEmbedded?: boolean;
}

export interface Database {
  pool: pg.Pool;
  /** Connection string (psql accepts it); undefined for a pool passed in. */
  url: string | undefined;
  kind: 'embedded' | 'external' | 'provided';
  /** How the sandbox reaches its sessions (see `connectionMode`); undefined for a pool passed in. */
  connectionMode: ConnectionMode | undefined;
  /** How to open a connection that keeps its session (`sessionDatabaseUrl`, else the pool's settings). */
  sessionConnection: pg.ClientConfig;
  /**
   * False when the pool goes through a transaction pooler and no `sessionDatabaseUrl` was given:
   * then a LISTEN or a session-level lock is not kept, and the caller should say so.
   */
  sessionsKept: boolean;
  /** Ends the pool (unless provided) and stops the embedded server (if started). */
  close(): Promise<void>;
}

/** How long `close()` waits for connections still in use before stopping the embedded server. */
const POOL_END_WAIT_MS = 2_000;

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const {
    databaseUrl = process.env.DATABASE_URL,
    pool: providedPool,
    sandboxDir = path.resolve('.sandbox'),
    maxConnections = integerFromEnv('SANDBOX_POOL_MAX', 10, { min: 2 }),
    acquireTimeoutMs = integerFromEnv('SANDBOX_POOL_ACQUIRE_TIMEOUT_MS', 5_000, { min: 1 }),
    statementTimeoutMs = integerFromEnv('SANDBOX_STATEMENT_TIMEOUT_MS', 30_000),
    idleInTransactionTimeoutMs = integerFromEnv('SANDBOX_IDLE_IN_TRANSACTION_TIMEOUT_MS', 15_000),
    connectionMode: requestedMode = connectionModeFromEnv(),
    sessionDatabaseUrl = process.env.SANDBOX_SESSION_DATABASE_URL || undefined,
  } = options;
  if (providedPool) {
    return { pool: providedPool, url: undefined, kind: 'provided', connectionMode: undefined, sessionConnection: { ...(providedPool.options as pg.ClientConfig) }, sessionsKept: true, close: async () => {} };
  }

  let embedded: EmbeddedPostgres | undefined;
  let url = databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(sandboxDir, 'postgres'), shareRunning: options.shareRunningEmbedded ?? false });
    url = embedded.url;
  }
  const timeouts = { statementTimeoutMs, idleInTransactionTimeoutMs };
  // Only application_name besides the login: poolers track it, and refuse parameters they don't know.
  const connection = { connectionString: url, connectionTimeoutMillis: acquireTimeoutMs, application_name: 'foundation-sandbox' };
  let pool: pg.Pool | undefined;
  let connectionMode: ConnectionMode;
  try {
    connectionMode = requestedMode === 'auto' ? await probeConnectionMode(connection) : requestedMode;
    pool = new pg.Pool({ ...connection, max: maxConnections, ...startupTimeouts(connectionMode, timeouts) });
    if (connectionMode === 'pooled') setTimeoutsPerTransaction(pool, timeouts);
    // An idle client losing its server (restart, network) must not crash the process.
    pool.on('error', () => {});
    await pool.query('SELECT 1');
  } catch (error) {
    await pool?.end().catch(() => {});
    await embedded?.stop();
    throw new SandboxStartError(
      `Cannot connect to PostgreSQL at ${redact(url)}: ${(error as Error).message}. ` +
      (embedded ? 'The embedded server started but refused the connection; see .sandbox/postgres.log.' : 'Check DATABASE_URL (unset it to use the embedded server).'),
      { cause: error },
    );
  }
  let sessionConnection: pg.ClientConfig = { ...(pool.options as pg.ClientConfig) };
  if (sessionDatabaseUrl) {
    const session = { ...connection, connectionString: sessionDatabaseUrl };
    try {
      // A session-mode pooler refuses the startup parameters too: they go only where PostgreSQL answers.
      sessionConnection = { ...session, ...startupTimeouts(await probeConnectionMode(session), timeouts) };
    } catch (error) {
      await pool.end().catch(() => {});
      await embedded?.stop();
      throw new SandboxStartError(`Cannot connect to PostgreSQL at SANDBOX_SESSION_DATABASE_URL ${redact(sessionDatabaseUrl)}: ${(error as Error).message}.`, { cause: error });
    }
  }
  return {
    pool, url, kind: embedded ? 'embedded' : 'external', connectionMode, sessionConnection,
    sessionsKept: connectionMode === 'direct' || sessionDatabaseUrl !== undefined,
    close: async () => {
      // pool.end() waits for every checked-out connection; a request stuck in a query must not
      // keep the process (and the embedded server) up. Stopping the server ends such sessions.
      await Promise.race([pool.end(), new Promise((resolve) => setTimeout(resolve, POOL_END_WAIT_MS).unref())]);
      await embedded?.stop();
    },
  };
}

/** Whether a pooler sits between the sandbox and PostgreSQL, asked on a connection of its own. */
async function probeConnectionMode(config: pg.ClientConfig): Promise<ConnectionMode> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
    return await detectConnectionMode(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL with its password hidden, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable connection string>';
  }
}

/**
 * Runs `run` between BEGIN and COMMIT on `client`; ROLLBACK and rethrow when it throws. The error
 * rethrown is `run`'s: a ROLLBACK that fails too (the connection is gone) would only hide it.
 * With `deadlockRetries`, a transaction PostgreSQL rolled back to break a deadlock runs again.
 */
export async function inTransaction<T>(client: pg.ClientBase, run: () => Promise<T>, { deadlockRetries = 0 } = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await transactionOnce(client, run);
    } catch (error) {
      // PostgreSQL chose this transaction as a deadlock's victim and rolled it back: whole again, it can run.
      if ((error as { code?: string }).code !== '40P01' || attempt >= deadlockRetries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80 * (attempt + 1)));
    }
  }
}

/**
 * One write to the registries outside any transaction of the caller's: on its own when nobody
 * acts, else in a transaction of its own, so that the audit log names who acts (a statement sent
 * alone can't carry `SET LOCAL`; transaction-actor.ts).
 */
export async function registryWrite<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  if (!currentActor()) return pool.query<R>(text, values);
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => client.query<R>(text, values));
  } finally {
    client.release();
  }
}

async function transactionOnce<T>(client: pg.ClientBase, run: () => Promise<T>): Promise<T> {
  await client.query(beginStatement(client));
  try {
    const result = await run();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
