/**
 * The receiving side of data/changes.ts: how a running sandbox learns that another process (the
 * CLI, a second sandbox) changed tenants or plugin enablement, so that its caches can stay in
 * memory and the request gate never asks the database.
 *
 * - `startChangeListener`: one dedicated connection LISTENing on the channel. Pooled connections
 *   can't listen: a LISTEN belongs to a session, and the pool hands sessions to whoever asks.
 *   When the connection drops, it reconnects with a short backoff; notifications sent meanwhile
 *   are lost, so every cache is re-read at once, every second until it is back, and after.
 *   A connection that goes silent (a frozen backend, a network that dropped it without a close)
 *   is caught by the heartbeat (listener-heartbeat.ts) and counts as dropped: the caches never
 *   trust a listener that has not answered within the heartbeat's timeout.
 * What each change then does in this sandbox is change-handler.ts's business.
 */
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { CHANGES_CHANNEL, parseChange, type Change } from './changes.ts';
import { DEFAULT_HEARTBEAT, destroyConnection, roundTrip, startHeartbeat, type HeartbeatSettings } from './listener-heartbeat.ts';

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
  /** Notifications may have been missed: called when the connection is lost, every `resyncIntervalMs` while it is down, and once it is back. */
  onResync(): void;
  /** How often caches are re-read while the connection is down. @default 1000 */
  resyncIntervalMs?: number;
  /** How the connection proves it is alive; an unanswered heartbeat counts as a lost connection. @default every 1000 ms, 2000 ms to answer */
  heartbeat?: HeartbeatSettings;
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
export async function startChangeListener({ connection, logger, onChange, onResync, resyncIntervalMs = 1_000, heartbeat = DEFAULT_HEARTBEAT }: ChangeListenerOptions): Promise<ChangeListener> {
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<unknown> | undefined;
  let stopHeartbeat = () => {};

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
    // Keepalive probes start early too, for a peer that vanished while the heartbeat waits its turn.
    const candidate = new pg.Client({
      ...connection, application_name: LISTENER_APPLICATION_NAME, keepAlive: true, keepAliveInitialDelayMillis: heartbeat.timeoutMs,
    });
    let gone = false;
    const drop = (error?: Error, reason?: string) => {
      if (gone) return;
      gone = true;
      // Not end(): it waits for the server to close the socket, which a frozen backend never does.
      destroyConnection(candidate);
      if (client === candidate) {
        client = undefined;
        stopHeartbeat();
        lost(error, reason);
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
      await roundTrip(candidate, `LISTEN ${CHANGES_CHANNEL}`, heartbeat.timeoutMs);
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
    stopHeartbeat = startHeartbeat(candidate, heartbeat, (error) => drop(error, `its connection answered no heartbeat within ${heartbeat.timeoutMs} ms`));
  }

  function attempt(): Promise<void> {
    const run = connect();
    connecting = run.catch(() => {});
    return run;
  }

  /** `wasListening`: false for the first attempt's failure, when the caches hold nothing yet. */
  function lost(error?: Error, reason?: string, wasListening = true): void {
    if (closed) return;
    logger.warn({ err: error }, `change listener: lost its connection${reason ? ` (${reason})` : ''}; reconnecting, and re-reading every cache each ${resyncIntervalMs} ms until then`);
    // What the caches hold may be stale already: a silent connection goes unnoticed for up to a heartbeat.
    if (wasListening) safely('re-reading the caches', onResync);
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
    lost(error as Error, undefined, false);
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
      stopHeartbeat();
      if (!last) return;
      // A graceful goodbye, unless the server does not answer it in time (a frozen backend).
      const ended = last.end().catch(() => {});
      const timer = setTimeout(() => destroyConnection(last), heartbeat.timeoutMs);
      await ended;
      clearTimeout(timer);
    },
  };
}
