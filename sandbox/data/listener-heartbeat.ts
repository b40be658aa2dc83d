/**
 * How the change listener (change-listener.ts) proves that its connection is alive. A LISTEN
 * connection only receives: a backend that froze, or a network that dropped the connection
 * without a close, looks exactly like a quiet database, and TCP keepalive notices it only after
 * the OS default of two hours. So the listener asks a question on a timer, and a question left
 * unanswered counts as a lost connection.
 */
import type pg from 'pg';

/** The heartbeat's text, as `pg_stat_activity.query` shows it on the listener's session. */
export const HEARTBEAT_QUERY = 'SELECT 1 AS listener_heartbeat';

export interface HeartbeatSettings {
  /** Wait between one answer and the next question. */
  intervalMs: number;
  /** A question unanswered this long means the connection is gone. */
  timeoutMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatSettings = { intervalMs: 1_000, timeoutMs: 2_000 };

/**
 * `client.query(sql)`, rejected after `timeoutMs` without an answer. The query itself can't be
 * called back: the caller must destroy the connection (`destroyConnection`) when this rejects.
 */
export function roundTrip(client: pg.Client, sql: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let answered = false;
    const deadline = setTimeout(() => {
      // After this turn's I/O: when the event loop itself was held up, an answer that has arrived meanwhile counts.
      setImmediate(() => {
        if (!answered) reject(new Error(`no answer from PostgreSQL within ${timeoutMs} ms`));
      });
    }, timeoutMs);
    deadline.unref();
    client.query(sql).then(() => {
      answered = true;
      clearTimeout(deadline);
      resolve();
    }, (error: Error) => {
      answered = true;
      clearTimeout(deadline);
      reject(error);
    });
  });
}

/**
 * Asks `HEARTBEAT_QUERY` every `intervalMs` and calls `onSilent` once if one goes unanswered
 * for `timeoutMs` (or fails). Returns the function that stops it.
 */
export function startHeartbeat(client: pg.Client, { intervalMs, timeoutMs }: HeartbeatSettings, onSilent: (error: Error) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = () => {
    roundTrip(client, HEARTBEAT_QUERY, timeoutMs).then(() => {
      if (!stopped) timer = setTimeout(beat, intervalMs).unref();
    }, (error: Error) => {
      if (stopped) return;
      stopped = true;
      onSilent(error);
    });
  };
  timer = setTimeout(beat, intervalMs).unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Closes `client` without waiting for the server. `end()` alone sends Terminate and waits for the
 * server to close the socket, which a frozen backend never does.
 */
export function destroyConnection(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
  client.end().catch(() => {});
}
