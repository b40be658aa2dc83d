/** The host's small middleware, each a plain function (or a factory returning one). */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../errors.ts';
import type { EnablementCache } from '../../operations/registry/enablement-cache.ts';

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
 * or for the caller's tenant, so a disabled module is told apart from a missing route. It asks
 * the enablement cache, never the database: a change reaches it by notification (see
 * data/change-listener.ts), so this gate costs no query per request.
 */
export function pluginEnabled(enablement: Pick<EnablementCache, 'check'>, pluginId: string) {
  return function pluginEnabledGate(req: Request, _res: Response, next: NextFunction): void {
    req.pluginId = pluginId;
    const tenantId = req.identity?.tenantId ?? null;
    const enabled = enablement.check(pluginId, tenantId);
    if (!enabled.global || enabled.tenant === false) {
      const scope = enabled.disabledBy === 'environment' ? 'globally (FOUNDATION_DISABLED_PLUGINS)'
        : !enabled.global ? 'globally' : `for tenant ${req.identity!.tenantCode}`;
      throw new HttpError(403, 'PLUGIN_DISABLED', `Plugin ${pluginId} is disabled ${scope}.`, { pluginId, tenantId });
    }
    next();
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
  if (BODY_METHODS.has(req.method) && hasBody(req) && !req.is(JSON_TYPES)) {
    const given = req.get('content-type');
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE',
      `Send the body as JSON with the header Content-Type: application/json (${given ? `got ${JSON.stringify(given)}` : 'no Content-Type was sent'}).`,
      { header: 'Content-Type' });
  }
  next();
}

/** The same test body-parser makes: a chunked body, or a non-zero Content-Length. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/** `parse` (a body parser) for requests that have a body; the others (most GETs) skip its work. */
export function whenBodySent(parse: RequestHandler): RequestHandler {
  return function bodyParser(req: Request, res: Response, next: NextFunction) {
    if (hasBody(req)) return parse(req, res, next);
    // What the parser leaves on a request it skips, so handlers see the same either way.
    if (!Reflect.has(req, 'body')) req.body = undefined;
    next();
  };
}
