/** The host's small middleware, each a plain function (or a factory returning one). */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
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
