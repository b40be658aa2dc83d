/**
 * The HTTP face of the host: one Express app, plugin routers mounted at `/api/plugins/<id>`
 * behind identity and the enablement gate, `/health` routes open (`/health/ready` asks the
 * database), and every error handed to the envelope (error-envelope.ts). Each plugin request is
 * logged and counted (observability/), and `/metrics` and `/api/admin/*` report the counts.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Identity } from '../access/identity.ts';
import type { Rbac } from '../access/rbac.ts';
import type { Tenancy } from '../data/tenancy.ts';
import type { CorsOrigins } from '../env-settings.ts';
import { HttpError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { metricsEndpoint, type Metrics } from '../observability/metrics.ts';
import { createPluginStats, type PluginStats } from '../observability/plugin-stats.ts';
import { requestLog } from '../observability/request-log.ts';
import { requestScope } from '../plugins/scope.ts';
import type { EnablementCache } from '../../operations/registry/enablement-cache.ts';
import { chain } from './chain.ts';
import { corsPolicy } from './cors.ts';
import { devRouter } from './dev-routes.ts';
import { errorEnvelope } from './error-envelope.ts';
import { JSON_TYPES, pluginEnabled, requestId, requireJsonBody, whenBodySent } from './middleware.ts';
import './request-context.ts';

export interface MountedPlugin {
  id: string;
  version: string;
  /** Display name (module.config.ts `name`), shown by the shell. */
  name: string;
  router: Router;
}

export interface HttpOptions {
  plugins: MountedPlugin[];
  identity: Identity;
  tenancy: Tenancy;
  rbac: Rbac;
  /** What the enablement gate asks (no query per request). */
  enablement: EnablementCache;
  logger: Logger;
  /** Browser origins allowed to call the API (others get 403), or false to answer no CORS at all. @default 'loopback' */
  corsOrigins?: CorsOrigins | false;
  /** Largest JSON body accepted; larger ones get 413. @default '1mb' */
  bodyLimit?: string;
  /** Serve `/api/sandbox/*` (dev identities, tokens, `me`). @default true */
  devRoutes?: boolean;
  /** Prometheus metrics, served at `GET /metrics`; none served when absent. */
  metrics?: Metrics;
  /** Per-plugin figures of the admin API. @default counted from this app's creation */
  stats?: PluginStats;
  /** Answers `GET /health/ready`: 200 while the database answers, else 503 (readiness.ts); not served when absent. */
  readiness?: RequestHandler;
  /** The admin API (admin/router.ts), mounted at `/api/admin`; none when absent. */
  admin?: Router;
}

export function createHttpApp(options: HttpOptions): express.Express {
  const { plugins, identity, tenancy, rbac, enablement, logger, corsOrigins = 'loopback', bodyLimit = '1mb', devRoutes = true, metrics } = options;
  const stats = options.stats ?? createPluginStats(plugins.map((p) => p.id));
  const app = express();
  app.disable('x-powered-by');
  // Before CORS and body parsing, so that the requests they refuse are logged and counted too.
  app.use(chain(requestId, requestLog({ logger, plugins, observers: metrics ? [stats.observe, metrics.observe] : [stats.observe] })));
  // A scraper is no browser: no Origin, no CORS. A browser page elsewhere gets no CORS headers, so it can't read it.
  if (metrics) app.get('/metrics', metricsEndpoint(metrics));
  const jsonBody = whenBodySent(express.json({ limit: bodyLimit, type: JSON_TYPES }));
  app.use(chain(...(corsOrigins !== false ? [corsPolicy(corsOrigins)] : []), requireJsonBody, jsonBody));

  // First of the routes, so that a plugin request (the hot path) walks the fewest layers.
  for (const plugin of plugins) {
    const base = `/api/plugins/${plugin.id}`;
    app.get(`${base}/health`, (_req, res) => {
      res.json({ ok: true, plugin: plugin.id, version: plugin.version });
    });
    app.use(base, chain(identity.middleware, pluginEnabled(enablement, plugin.id), requestScope, plugin.router));
  }

  // Liveness: the process answers, without a query. Readiness, which asks the database, is /health/ready.
  app.get('/health', (_req, res) => {
    res.json({ ok: true, plugins: plugins.map((p) => p.id) });
  });
  if (options.readiness) app.get('/health/ready', options.readiness);

  if (devRoutes) app.use('/api/sandbox', devRouter(identity, tenancy, rbac, plugins));
  if (options.admin) app.use('/api/admin', options.admin);

  app.use((req: Request) => {
    throw new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}.`);
  });
  app.use(errorEnvelope(logger));
  return app;
}

