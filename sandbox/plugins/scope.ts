/**
 * What plugin code is doing right now, as the host's capabilities need to know it without the
 * plugin passing it along: the request (its id) and the tenant it acts in. Logs are tagged from
 * it, events carry its tenant, cron runs set it per tenant. The tenant transaction the code is
 * inside is tenancy's to know (data/tenancy.ts): its tenant wins over the request's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { currentTenantId } from '../data/tenancy.ts';

export interface PluginScope {
  requestId?: string;
  /** `sys_tenant.id`: the tenant transaction's, else the request's, else the cron run's. */
  tenantId?: string;
}

const scope = new AsyncLocalStorage<PluginScope>();

export function currentScope(): PluginScope {
  const set = scope.getStore();
  const tenantId = currentTenantId() ?? set?.tenantId;
  return tenantId === set?.tenantId ? (set ?? {}) : { ...set, tenantId };
}

/** Runs `run` with `patch` over the current scope. */
export function inScope<T>(patch: PluginScope, run: () => T): T {
  return scope.run({ ...scope.getStore(), ...patch }, run);
}

/**
 * The first handler of each plugin router: the rest of the request runs in a scope holding its
 * id and the tenant its identity names (identity runs before the router).
 */
export function requestScope(req: Request, _res: Response, next: NextFunction): void {
  scope.run({ requestId: req.requestId, tenantId: req.identity?.tenantId }, next);
}
