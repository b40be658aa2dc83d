/**
 * CORS of the sandbox API. The shell needs none (it goes through Vite's proxy, same origin); the
 * API trusts dev identity headers, so browser pages from other origins are refused outright.
 */
import cors from 'cors';
import type { NextFunction, Request, Response } from 'express';
import type { CorsOrigins } from '../env-settings.ts';
import { HttpError } from '../errors.ts';

/** Whether `origin` is a page served from this machine: localhost (and *.localhost), 127.0.0.1 or [::1], any port. */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) return false;
  const host = url.hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]';
}

/**
 * CORS for the allowed origins only. A request from any other browser origin is refused with 403
 * before it reaches a route: the API trusts dev identity headers, so a website the developer
 * happens to visit must not be able to call it (a "simple" cross-site POST needs no preflight).
 * Requests without `Origin` (curl, Vite's proxy for same-origin GETs, servers) are not affected.
 */
export function corsPolicy(origins: CorsOrigins) {
  const allowed = (origin: string) => (origins === 'loopback' ? isLoopbackOrigin(origin) : origins.includes(origin));
  const headers = cors({ origin: true, credentials: true, exposedHeaders: ['X-Request-Id', 'Retry-After'] });
  const setting = origins === 'loopback' ? 'loopback origins only' : origins.join(', ');
  return function corsPolicyGate(req: Request, res: Response, next: NextFunction): void {
    const origin = req.get('origin');
    if (origin === undefined) return next();
    if (!allowed(origin)) {
      throw new HttpError(403, 'ORIGIN_NOT_ALLOWED',
        `Requests from the browser origin ${JSON.stringify(origin)} are refused (allowed: ${setting}). To allow it, start the sandbox with SANDBOX_CORS_ORIGINS=${JSON.stringify(origin)}.`,
        { origin });
    }
    headers(req, res, next);
  };
}
