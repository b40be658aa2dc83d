/**
 * The HTTP face of the host: one Express app, plugin routers mounted at `/api/plugins/<id>`
 * behind identity and the enablement gate, `/health` routes open, and every error handed to the
 * envelope (error-envelope.ts).
 */
import express, { type Request, type Router } from 'express';
import type pg from 'pg';
import { DEV_TENANTS, DEV_USERS } from './dev-seed.ts';
import type { CorsOrigins } from './env-settings.ts';
import { errorEnvelope } from './error-envelope.ts';
import { HttpError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { Logger } from './logger.ts';
import { corsPolicy, JSON_TYPES, pluginEnabled, requestId, requireJsonBody } from './middleware.ts';
import type { Rbac } from './rbac.ts';
import type { Tenancy } from './tenancy.ts';
import './request-context.ts';

export interface MountedPlugin {
  id: string;
  version: string;
  /** Display name (module.config.ts `name`), shown by the shell. */
  name: string;
  router: Router;
}

export interface HttpOptions {
  pool: pg.Pool;
  plugins: MountedPlugin[];
  identity: Identity;
  tenancy: Tenancy;
  rbac: Rbac;
  logger: Logger;
  /** Browser origins allowed to call the API (others get 403), or false to answer no CORS at all. @default 'loopback' */
  corsOrigins?: CorsOrigins | false;
  /** Largest JSON body accepted; larger ones get 413. @default '1mb' */
  bodyLimit?: string;
  /** Serve `/api/sandbox/*` (dev identities, tokens, `me`). @default true */
  devRoutes?: boolean;
}

export function createHttpApp(options: HttpOptions): express.Express {
  const { pool, plugins, identity, tenancy, rbac, logger, corsOrigins = 'loopback', bodyLimit = '1mb', devRoutes = true } = options;
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId);
  if (corsOrigins !== false) app.use(corsPolicy(corsOrigins));
  app.use(requireJsonBody);
  app.use(express.json({ limit: bodyLimit, type: JSON_TYPES }));

  app.get('/health', (_req, res) => {
    res.json({ ok: true, plugins: plugins.map((p) => p.id) });
  });

  if (devRoutes) app.use('/api/sandbox', devRouter(identity, tenancy, rbac, plugins));

  for (const plugin of plugins) {
    const base = `/api/plugins/${plugin.id}`;
    app.get(`${base}/health`, (_req, res) => {
      res.json({ ok: true, plugin: plugin.id, version: plugin.version });
    });
    app.use(base, identity.middleware, pluginEnabled(pool, plugin.id), plugin.router);
  }

  app.use((req: Request) => {
    throw new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}.`);
  });
  app.use(errorEnvelope(logger));
  return app;
}

function devRouter(identity: Identity, tenancy: Tenancy, rbac: Rbac, plugins: MountedPlugin[]): Router {
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
