/**
 * `/api/sandbox/*`: dev identities, tokens for any user, who the caller is, the loaded modules.
 * For development only: served only while dev identity is on (see env-settings.ts).
 */
import express, { type Router } from 'express';
import type { Identity } from '../access/identity.ts';
import type { Rbac } from '../access/rbac.ts';
import { DEV_TENANTS, DEV_USERS } from '../data/dev-seed.ts';
import type { Tenancy } from '../data/tenancy.ts';
import { HttpError } from '../errors.ts';
import type { MountedPlugin } from './app.ts';

export function devRouter(identity: Identity, tenancy: Tenancy, rbac: Rbac, plugins: MountedPlugin[]): Router {
  const router = express.Router();
  router.get('/identities', async (_req, res) => {
    const tenants = (await tenancy.list()).map(({ id, code, name }) => ({ id, code, name }));
    // The module README and the docs' examples act as the dev admin in tenant dev: the shell starts there too.
    res.json({ tenants, users: await identity.listUsers(), defaults: { tenant: DEV_TENANTS[0].code, user: DEV_USERS.admin.email } });
  });
  router.get('/modules', (_req, res) => {
    res.json({ modules: plugins.map(({ id, name, version }) => ({ id, name, version })) });
  });
  router.post('/token', async (req, res) => {
    const { user, tenant } = (req.body ?? {}) as { user?: unknown; tenant?: unknown };
    if (typeof user !== 'string' || typeof tenant !== 'string') {
      throw new HttpError(400, 'VALIDATION_FAILED', 'Send JSON { "user": "<id or email>", "tenant": "<id or code>" }.', { field: typeof user !== 'string' ? 'user' : 'tenant' });
    }
    await tenancy.get(tenant);
    if (!(await identity.findUser(user))) throw new HttpError(400, 'UNKNOWN_USER', `User ${JSON.stringify(user)} does not exist.`, { field: 'user' });
    res.json({ token: await identity.signDevToken({ user, tenant }) });
  });
  router.get('/me', identity.middleware, async (req, res) => {
    if (!req.identity) throw new HttpError(401, 'UNAUTHENTICATED', 'Name a tenant and a user (X-Tenant-Id and X-User-Id, or a bearer token).');
    const tenant = await tenancy.get(req.identity.tenantId);
    const user = await identity.findUser(req.identity.userId);
    res.json({
      tenant: { id: tenant.id, code: tenant.code, name: tenant.name },
      user,
      permissions: await rbac.permissionsOf(req.identity),
    });
  });
  return router;
}
