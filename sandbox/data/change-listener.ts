/**
 * The receiving side of data/changes.ts: how a running sandbox learns that another process (the
 * CLI, a second sandbox) changed tenants or plugin enablement, so that its caches can stay in
 * memory and the request gate never asks the database.
 *
 * - `startChangeListener`: one dedicated connection LISTENing on the channel. Pooled connections
 *   can't listen: a LISTEN belongs to a session, and the pool hands sessions to whoever asks.
 *   When the connection drops, it reconnects with a short backoff; notifications sent meanwhile
 *   are lost, so every cache is re-read after it is back, and every second until then.
 * What each change then does in this sandbox is change-handler.ts's business.
 */
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { CHANGES_CHANNEL, parseChange, type Change } from './changes.ts';

/** The listener's `application_name`: how to find its session in `pg_stat_activity`. */
export const LISTENER_APPLICATION_NAME = 'foundation-sandbox-listener';

/** Waits before each reconnection attempt in a row; the last repeats. */
const RECONNECT_DELAYS_MS = [100, 250, 500, 1_000];

export interface ChangeListenerOptions {
  /** Where to connect: pass the pool's own settings (`pool.options`), so the listener reaches the same database. */
  connection: pg.ClientConfig;
  logger: Logger;
  /** A change notification arrived (foreign payloads never reach it). */
  onChange(change: Change): void;
  /** Notifications may have been missed: called once the connection is back, and every `resyncIntervalMs` while it is down. */
  onResync(): void;
  /** How often caches are re-read while the connection is down. @default 1000 */
  resyncIntervalMs?: number;
}

export interface ChangeListener {
  /** Whether LISTEN is in effect right now. */
  readonly connected: boolean;
  /** Ends the connection and every timer; nothing is called after it resolves. */
  close(): Promise<void>;
}

/**
 * Connects and LISTENs. Resolves after the first attempt whether or not it succeeded: a sandbox
 * whose listener can't connect yet still serves, re-reading its caches every second meanwhile.
 */
export async function startChangeListener({ connection, logger, onChange, onResync, resyncIntervalMs = 1_000 }: ChangeListenerOptions): Promise<ChangeListener> {
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<unknown> | undefined;

  const safely = (what: string, run: () => void) => {
    try {
      run();
    } catch (error) {
      logger.error({ err: error }, `change listener: ${what} failed`);
    }
  };

  function receive(payload: string | undefined): void {
    if (closed) return;
    const change = parseChange(payload);
    // Anyone may NOTIFY the channel: what is not one of ours is dropped, never acted on.
    if (!change) return void logger.debug({ payload: payload?.slice(0, 200) }, 'change listener: ignored a notification that is not a change');
    safely('handling a change', () => onChange(change));
  }

  async function connect(): Promise<void> {
    const candidate = new pg.Client({ ...connection, application_name: LISTENER_APPLICATION_NAME, keepAlive: true });
    let gone = false;
    const drop = (error?: Error) => {
      if (gone) return;
      gone = true;
      candidate.end().catch(() => {});
      if (client === candidate) {
        client = undefined;
        lost(error);
      }
    };
    // Without an 'error' listener, a connection ended by the server would crash the process.
    candidate.on('error', drop);
    candidate.on('end', () => drop());
    candidate.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL) receive(message.payload);
    });
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      drop();
      throw error;
    }
    if (gone) throw new Error('the connection ended while it started listening');
    if (closed) return drop();
    // The socket must not keep the process alive: a sandbox that is never closed still lets it exit.
    (candidate as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
    client = candidate;
    failures = 0;
  }

  function attempt(): Promise<void> {
    const run = connect();
    connecting = run.catch(() => {});
    return run;
  }

  function lost(error?: Error): void {
    if (closed) return;
    logger.warn({ err: error }, `change listener: lost its connection; reconnecting, and re-reading every cache each ${resyncIntervalMs} ms until then`);
    resyncTimer ??= setInterval(() => safely('re-reading the caches', onResync), resyncIntervalMs).unref();
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    const delay = RECONNECT_DELAYS_MS[Math.min(failures, RECONNECT_DELAYS_MS.length - 1)]!;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      attempt().then(() => {
        if (closed) return;
        clearInterval(resyncTimer);
        resyncTimer = undefined;
        logger.info('change listener: listening again; re-reading every cache for what was missed');
        safely('re-reading the caches', onResync);
      }, (error: Error) => {
        if (closed) return;
        failures += 1;
        logger.debug({ err: error }, 'change listener: reconnection failed; trying again');
        scheduleReconnect();
      });
    }, delay).unref();
  }

  try {
    await attempt();
  } catch (error) {
    failures += 1;
    // `lost` only runs for a connection that was up: the first failure starts the same recovery.
    lost(error as Error);
  }

  return {
    get connected() {
      return client !== undefined;
    },
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      clearInterval(resyncTimer);
      await connecting;
      const last = client;
      client = undefined;
      await last?.end().catch(() => {});
    },
  };
}
