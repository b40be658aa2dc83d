/** The host's small middleware, each a plain function (or a factory returning one). */
import { randomUUID } from 'node:crypto';
import cors from 'cors';
import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import type { CorsOrigins } from './env-settings.ts';
import { HttpError } from './errors.ts';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Takes a well-formed `X-Request-Id` from the caller or makes one, and echoes it back. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.get('x-request-id');
  req.requestId = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
}

/**
 * Answers 403 `PLUGIN_DISABLED` (not 404) when the plugin is switched off globally (kill switch)
 * or for the caller's tenant, so a disabled module is told apart from a missing route.
 */
export function pluginEnabled(pool: pg.Pool, pluginId: string) {
  return async function pluginEnabledGate(req: Request, _res: Response, next: NextFunction): Promise<void> {
    req.pluginId = pluginId;
    const tenantId = req.identity?.tenantId ?? null;
    const { rows } = await pool.query<{ enabled_global: boolean; enabled: boolean | null }>(
      `SELECT p.enabled_global, tp.enabled FROM public.sys_plugins p
         LEFT JOIN public.sys_tenant_plugins tp ON tp.plugin_id = p.plugin_id AND tp.tenant_id = $2
        WHERE p.plugin_id = $1`, [pluginId, tenantId]);
    const row = rows[0];
    const off = !row?.enabled_global || (tenantId !== null && row.enabled !== true);
    if (off) {
      const scope = !row?.enabled_global ? 'globally' : `for tenant ${req.identity!.tenantCode}`;
      throw new HttpError(403, 'PLUGIN_DISABLED', `Plugin ${pluginId} is disabled ${scope}.`, { pluginId, tenantId });
    }
    next();
  };
}

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

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** The media types read as JSON bodies (and the only ones accepted on POST, PUT and PATCH). */
export const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * A body the JSON parser skipped (another or no Content-Type) would reach the handler as
 * `undefined` and be refused as a missing body, which hides the real mistake: say it instead.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  // The same test body-parser makes: a chunked body, or a non-zero Content-Length.
  const hasBody = req.get('transfer-encoding') !== undefined || (req.get('content-length') ?? '0') !== '0';
  if (BODY_METHODS.has(req.method) && hasBody && !req.is(JSON_TYPES)) {
    const given = req.get('content-type');
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE',
      `Send the body as JSON with the header Content-Type: application/json (${given ? `got ${JSON.stringify(given)}` : 'no Content-Type was sent'}).`,
      { header: 'Content-Type' });
  }
  next();
}
