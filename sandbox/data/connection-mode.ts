/**
 * Whether the sandbox talks to PostgreSQL directly or through a transaction pooler, and so how its
 * sessions get their `statement_timeout` and `idle_in_transaction_session_timeout`.
 *
 * - `direct` (PostgreSQL, or a proxy that keeps one server session per client connection): the
 *   timeouts go in each session's startup packet, so every statement has them from the first, at
 *   no round trip.
 * - `pooled` (PgBouncer, RDS Proxy, Supavisor… in transaction mode): neither a startup parameter
 *   nor a session SET works there. PgBouncer refuses a connection whose startup packet names a
 *   parameter it does not track (`unsupported startup parameter: statement_timeout`) unless its
 *   `ignore_startup_parameters` lists it, and then drops it; a session-level SET stays on the
 *   server connection, which the pooler hands to its other clients after the transaction, ours or
 *   not. So each transaction the sandbox opens sets them with SET LOCAL, which ends with it. The
 *   cost: statements run outside a transaction (the host's own short lookups) get the server's
 *   defaults.
 *
 * `auto` tells them apart on the first connection: PostgreSQL's BackendKeyData carries the
 * backend's process id, so it equals `pg_backend_pid()`; a pooler makes up its own key (it must,
 * as the client's connection is not tied to one backend), so the two differ.
 */
import type pg from 'pg';
import { SandboxStartError } from '../errors.ts';
import { actorStatements } from './transaction-actor.ts';

export type ConnectionMode = 'direct' | 'pooled';

/** `SANDBOX_CONNECTION_MODE`: `auto` (the default), `direct` or `pooled`; anything else refuses the start. */
export function connectionModeFromEnv(env: Record<string, string | undefined> = process.env): ConnectionMode | 'auto' {
  const value = env.SANDBOX_CONNECTION_MODE?.trim().toLowerCase();
  if (value === undefined || value === '') return 'auto';
  if (value === 'auto' || value === 'direct' || value === 'pooled') return value;
  throw new SandboxStartError(`SANDBOX_CONNECTION_MODE must be "auto", "direct" or "pooled" (got ${JSON.stringify(env.SANDBOX_CONNECTION_MODE)}); "pooled" is for a transaction pooler such as PgBouncer.`);
}

export interface SessionTimeouts {
  /** 0 = none. */
  statementTimeoutMs: number;
  /** 0 = never. */
  idleInTransactionTimeoutMs: number;
}

/** `direct` when `client` (connected) talks to the PostgreSQL backend it was given, else `pooled`. */
export async function detectConnectionMode(client: pg.Client): Promise<ConnectionMode> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid');
  const announced = (client as unknown as { processID: number | null }).processID;
  return rows[0]?.pid === announced ? 'direct' : 'pooled';
}

/** The pg client options that carry the timeouts: startup parameters when direct, none when pooled. */
export function startupTimeouts(mode: ConnectionMode, timeouts: SessionTimeouts): Partial<pg.ClientConfig> {
  return mode === 'direct'
    ? { statement_timeout: timeouts.statementTimeoutMs, idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs }
    : {};
}

/** How a transaction opened on a pooled connection starts, keyed by the connection. */
const transactionSettings = new WeakMap<pg.ClientBase, string>();

/**
 * Whether `client` came from a pool that reaches PostgreSQL through a transaction pooler: then
 * what belongs to a session (a session-level advisory lock, LISTEN, SET) does not stay with it.
 */
export function isPooledConnection(client: pg.ClientBase): boolean {
  return transactionSettings.has(client);
}

/** Makes every connection `pool` opens from now on set `timeouts` in each transaction the sandbox opens on it. */
export function setTimeoutsPerTransaction(pool: pg.Pool, timeouts: SessionTimeouts): void {
  // Whole numbers (openDatabase reads them so): safe to write into the statement.
  const statements = `BEGIN; SET LOCAL statement_timeout = ${Math.trunc(timeouts.statementTimeoutMs)}; ` +
    `SET LOCAL idle_in_transaction_session_timeout = ${Math.trunc(timeouts.idleInTransactionTimeoutMs)}`;
  // 'connect' fires before pg-pool hands the new client to anyone.
  pool.on('connect', (client) => transactionSettings.set(client, statements));
}

/**
 * The statement that opens a transaction on `client`: on a pooled connection BEGIN and the SET
 * LOCALs, in one round trip; on a direct one BEGIN alone (its session has the timeouts already).
 * Either way followed by who the transaction acts for, when someone does (transaction-actor.ts).
 */
export function beginStatement(client: pg.ClientBase): string {
  return (transactionSettings.get(client) ?? 'BEGIN') + actorStatements(client);
}
