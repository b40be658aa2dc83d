/**
 * One structured log line per request to a plugin (`/api/plugins/<id>/…`), written when the
 * response is done, whatever answered it: the plugin, the envelope after a throw, the identity
 * check (401) or the enablement gate (403 PLUGIN_DISABLED). The same record feeds the metrics and
 * the admin figures, so the three never disagree on what a request was.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from '../logger.ts';
import '../http/request-context.ts';
import { routePatterns } from './route-pattern.ts';

export interface RequestRecord {
  pluginId: string;
  /** `sys_tenant.id` of the caller, once the identity check resolved it. */
  tenantId?: string;
  /** The matched route pattern relative to the plugin (`/items/:itemId`), or `UNMATCHED_ROUTE`. */
  route: string;
  method: string;
  /** The answer's status; 499 when the client went away before the answer was complete. */
  status: number;
  durationMs: number;
  requestId: string;
  /** The client closed the connection before the answer was complete. */
  aborted?: boolean;
}

export type RequestObserver = (record: RequestRecord) => void;

export interface RequestLogOptions {
  logger: Logger;
  /** The mounted plugins: their routers give the route patterns. */
  plugins: readonly { id: string; router: Router }[];
  /** Called once per request with its record (metrics, admin figures). */
  observers?: readonly RequestObserver[];
}

/** The status nginx logs for "client closed request": the connection ended before the answer did. */
export const CLIENT_CLOSED = 499;

// Express matches mount paths case-insensitively by default: `/API/Plugins/ITEMS` reaches items too.
const PLUGIN_PATH = /^\/api\/plugins\/([^/]+)(?:\/|$)/i;

/** Mount before everything that may refuse a request (CORS, body parsing), so refusals are logged too. */
export function requestLog({ logger, plugins, observers = [] }: RequestLogOptions) {
  const patterns = new Map(plugins.map((p) => [p.id, routePatterns(p.router, `/api/plugins/${p.id}`)]));

  function finished(req: Request, res: Response, pluginId: string, patternOf: (req: Request) => string, started: bigint): void {
    const aborted = !res.writableFinished;
    const record: RequestRecord = {
      pluginId,
      tenantId: req.identity?.tenantId,
      route: patternOf(req),
      method: req.method,
      status: aborted ? CLIENT_CLOSED : res.statusCode,
      durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      requestId: req.requestId,
      ...(aborted ? { aborted } : {}),
    };
    logger.info(record, 'request');
    for (const observe of observers) {
      // Observability must never break serving: a failing observer costs its own figure only.
      try {
        observe(record);
      } catch (error) {
        logger.warn({ err: error, requestId: record.requestId }, 'a request observer failed');
      }
    }
  }

  return function requestLogger(req: Request, res: Response, next: NextFunction): void {
    const pluginId = PLUGIN_PATH.exec(req.path)?.[1]?.toLowerCase();
    const patternOf = pluginId === undefined ? undefined : patterns.get(pluginId);
    if (pluginId === undefined || !patternOf) return next();
    // Known before the identity check and the gate run, so an error they raise is logged with it.
    req.pluginId = pluginId;
    const started = process.hrtime.bigint();
    // 'close' comes after 'finish', and also when the client leaves first: one line either way.
    res.once('close', () => {
      try {
        finished(req, res, pluginId, patternOf, started);
      } catch (error) {
        logger.warn({ err: error, requestId: req.requestId }, 'could not log a request');
      }
    });
    next();
  };
}
