/**
 * The HTTP face of the host: one Express app, plugin routers mounted at `/api/plugins/<id>`
 * behind identity and the enablement gate, `/health` routes open, and the one place where any
 * error becomes the JSON envelope `{ error: { code, message, requestId, …details } }`.
 */
import cors from 'cors';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import { DEV_TENANTS, DEV_USERS } from './dev-seed.ts';
import { HttpError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { Logger } from './logger.ts';
import { pluginEnabled, requestId } from './middleware.ts';
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
  /** Permissive CORS for the Vite dev shell. Never in production. @default true */
  cors?: boolean;
  /** Largest JSON body accepted; larger ones get 413. @default '1mb' */
  bodyLimit?: string;
  /** Serve `/api/sandbox/*` (dev identities, tokens, `me`). @default true */
  devRoutes?: boolean;
}

export function createHttpApp(options: HttpOptions): express.Express {
  const { pool, plugins, identity, tenancy, rbac, logger, cors: allowCors = true, bodyLimit = '1mb', devRoutes = true } = options;
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId);
  if (allowCors) app.use(cors({ origin: true, credentials: true, exposedHeaders: ['X-Request-Id'] }));
  app.use(express.json({ limit: bodyLimit }));

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

/** Body-parser failures carry a `type`; map the ones a client causes to named codes. */
const BODY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'INVALID_JSON', message: 'The request body is not valid JSON.' },
  'entity.too.large': { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than the limit' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_ENCODING', message: 'The request body encoding is not supported.' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_CHARSET', message: 'The request body charset is not supported.' },
};

function errorEnvelope(logger: Logger) {
  return function errorEnvelopeHandler(error: unknown, req: Request, res: Response, _next: NextFunction): void {
    const context = { requestId: req.requestId, pluginId: req.pluginId, tenantId: req.identity?.tenantId };
    let status = 500;
    let body: Record<string, unknown> = { code: 'INTERNAL', message: 'Something went wrong on the server; the log has the details under this requestId.' };
    if (error instanceof HttpError) {
      status = error.status;
      body = { ...error.details, code: error.code, message: error.message };
    } else {
      const type = (error as { type?: string }).type;
      const known = type ? BODY_ERRORS[type] : undefined;
      if (known) {
        status = known.status;
        const limit = (error as { limit?: number }).limit;
        body = { code: known.code, message: type === 'entity.too.large' ? `${known.message} (${limit} bytes).` : known.message };
      }
    }
    if (status >= 500) logger.error({ err: error, ...context }, 'request failed');
    else logger.debug({ ...context, code: body.code, status }, 'request refused');
    if (res.headersSent) return void res.end();
    res.status(status).json({ error: { ...body, requestId: req.requestId } });
  };
}
