/**
 * `/api/admin/*`: the host's admin API for the shell. Every route needs an identity and a host
 * permission (rules/host-permission.ts) held in the caller's tenant, checked as plugins' are.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { HOST_PERMISSIONS } from '../../rules/index.ts';
import type { Identity } from '../access/identity.ts';
import type { Rbac } from '../access/rbac.ts';
import { HttpError } from '../errors.ts';
import type { PluginStats } from './plugin-stats.ts';

export interface AdminRoutesOptions {
  identity: Pick<Identity, 'middleware'>;
  rbac: Pick<Rbac, 'can'>;
  stats: PluginStats;
}

export function adminRouter({ identity, rbac, stats }: AdminRoutesOptions): Router {
  const router = express.Router();
  router.use(identity.middleware);
  router.get('/plugins/stats', requireHostPermission(rbac, HOST_PERMISSIONS.pluginsRead), (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(stats.snapshot());
  });
  return router;
}

function requireHostPermission(rbac: Pick<Rbac, 'can'>, permission: string) {
  return async function requireHostPermissionHandler(req: Request, _res: Response, next: NextFunction): Promise<void> {
    if (!req.identity) {
      throw new HttpError(401, 'UNAUTHENTICATED', `This route needs a signed-in user in a tenant (permission ${permission}).`, { permission });
    }
    if (!(await rbac.can(req.identity, permission))) {
      throw new HttpError(403, 'FORBIDDEN', `You lack the permission ${permission} in tenant ${req.identity.tenantCode}.`, { permission });
    }
    next();
  };
}
