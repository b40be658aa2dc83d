/**
 * Who may call the admin API: a signed-in user (the host's identity, `req.identity`) holding the
 * route's host permission in their tenant. Denied unless granted: every route names its
 * permission, and a route without one is never mounted (router.ts). The caller's changes are
 * made as them (the audit log's actor), with the request's id.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../foundation-lib/http-error.ts';
import type { HostPermission } from '../rules/index.ts';
import { actAs } from '../sandbox/data/transaction-actor.ts';
import type { ResolvedIdentity } from '../sandbox/http/request-context.ts';

export interface AdminAccess {
  /** Sets `req.identity` when the request names a tenant and a user; refuses bad credentials. */
  authenticate: RequestHandler;
  /** Whether `identity` holds `permission` in its tenant. */
  can(identity: ResolvedIdentity, permission: HostPermission): Promise<boolean>;
  /** The name the audit log keeps for `identity` (an email). */
  actorName(identity: ResolvedIdentity): Promise<string>;
}

/** Refuses the request unless its caller holds `permission`; runs the rest of it as that caller. */
export function requirePermission(access: AdminAccess, permission: HostPermission) {
  return async function requirePermissionHandler(req: Request, _res: Response, next: NextFunction): Promise<void> {
    if (!req.identity) {
      throw new HttpError(401, 'UNAUTHENTICATED', `This route needs a signed-in user in a tenant (permission ${permission}).`, { permission });
    }
    if (!(await access.can(req.identity, permission))) {
      throw new HttpError(403, 'FORBIDDEN', `You lack the permission ${permission} in tenant ${req.identity.tenantCode}.`, { permission });
    }
    const actor = await access.actorName(req.identity);
    actAs({ actor, source: 'api', requestId: req.requestId }, next);
  };
}
