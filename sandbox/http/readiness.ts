/**
 * `GET /health/ready`: whether this process can serve requests now, which means its database
 * answers. `/health` stays the liveness answer (the process runs; no query), so an orchestrator
 * restarts a process only when it is stuck, and takes it out of the load balancer while its
 * database is unreachable.
 */
import type { Request, Response } from 'express';
import type pg from 'pg';
import { answerFor } from './error-envelope.ts';

/** A probe answers within this, whatever the database does: orchestrators time probes out at ~1 s. */
export const READINESS_TIMEOUT_MS = 1_000;

export function readinessRoute(pool: pg.Pool, timeoutMs = READINESS_TIMEOUT_MS) {
  return async function ready(req: Request, res: Response): Promise<void> {
    // pg's own read timeout too: a connection whose query never answers is then destroyed, not pooled.
    const probe: pg.QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: timeoutMs };
    try {
      await withinTime(pool.query(probe), timeoutMs);
      res.json({ ok: true, database: 'ok' });
    } catch (error) {
      const answer = answerFor(error);
      // Whatever went wrong, the answer to "may I send you traffic?" is no, and not a server bug.
      const { code, message } = answer.status === 503 ? answer : {
        code: 'DATABASE_UNAVAILABLE', message: `The database did not answer SELECT 1 within ${timeoutMs} ms; this process is not ready.`,
      };
      res.setHeader('Retry-After', '5');
      res.status(503).json({ error: { code, message, requestId: req.requestId } });
    }
  };
}

function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  // The query may still settle later: its outcome no longer matters, and must not go unhandled.
  promise.catch(() => {});
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
