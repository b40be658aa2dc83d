/**
 * The sandbox host: wires the parts together and nothing else. Each part lives in its own file
 * and is built by its own factory; tests build the same sandbox through `createSandbox`.
 */
import type express from 'express';
import { bootstrap, type BootstrapReport } from './bootstrap.ts';
import { createCronScheduler } from './plugins/cron.ts';
import { openDatabase, type Database, type DatabaseOptions } from './data/database.ts';
import { createEventBus } from './plugins/events.ts';
import { createHttpApp } from './http/app.ts';
import { corsOriginsFromEnv, devIdentityFromEnv, type CorsOrigins } from './env-settings.ts';
import { createIdentity, jwtSecretFor, type Identity } from './access/identity.ts';
import { createLogger, type Logger } from './logger.ts';
import { createPluginContext } from './plugins/context.ts';
import { loadPlugins, PluginLoadError, type LoadedPlugin } from './plugins/loader.ts';
import { createRbac, type Rbac } from './access/rbac.ts';
import { createTenancy, type Tenancy } from './data/tenancy.ts';

export interface SandboxOptions extends DatabaseOptions {
  /** Module directories to load (each holds plugin/index.ts). */
  moduleDirs: string[];
  /**
   * Dev identity: accept `X-Tenant-Id` / `X-User-Id` as identity, serve `/api/sandbox/*` (tokens,
   * identities) and accept tokens signed with the built-in dev secret. Off in production.
   * @default on, unless SANDBOX_DEV_IDENTITY=off or NODE_ENV=production (see env-settings.ts)
   */
  devIdentityHeaders?: boolean;
  /**
   * HS256 secret of bearer tokens. Required (32+ characters) when dev identity is off.
   * @default process.env.SANDBOX_JWT_SECRET, else (dev identity only) the built-in dev secret
   */
  jwtSecret?: string;
  /** Answer CORS requests at all. The shell goes through Vite's proxy and needs none. @default true */
  cors?: boolean;
  /** Browser origins allowed to call the API. @default SANDBOX_CORS_ORIGINS, else 'loopback' (localhost, *.localhost, 127.0.0.1, [::1], any port) */
  corsOrigins?: CorsOrigins;
  /** Largest JSON body. @default '1mb' */
  bodyLimit?: string;
  /** Create dev tenants and users at start. @default true */
  seedDevData?: boolean;
  /** Run plugins' cron jobs on their schedules. @default false */
  runCron?: boolean;
  /** @default a pino logger at LOG_LEVEL (info) */
  logger?: Logger;
}

export interface Sandbox {
  app: express.Express;
  database: Database;
  tenancy: Tenancy;
  rbac: Rbac;
  identity: Identity;
  plugins: LoadedPlugin[];
  /** Whether dev identity is on (dev headers, /api/sandbox/*, the built-in secret). */
  devIdentity: boolean;
  /** What the start-up bootstrap did (migrations applied). */
  bootstrapReport: BootstrapReport;
  /** Runs the bootstrap again (idempotent); returns what it did. */
  rebootstrap(): Promise<BootstrapReport>;
  /** Stops cron, ends the pool (unless passed in) and stops the embedded server (if started). */
  close(): Promise<void>;
}

export { DEV_JWT_SECRET } from './access/identity.ts';

export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  const {
    moduleDirs, devIdentityHeaders = devIdentityFromEnv(), jwtSecret: givenSecret = process.env.SANDBOX_JWT_SECRET,
    cors = true, corsOrigins = corsOriginsFromEnv(), bodyLimit = '1mb', seedDevData = true, runCron = false, logger = createLogger(),
  } = options;
  // Settings are checked before anything starts: a production sandbox without a secret never comes up.
  const jwtSecret = jwtSecretFor({ secret: givenSecret, devIdentity: devIdentityHeaders });
  // Plugins are checked before any database is touched: a bad module costs no start-up.
  const plugins = await loadPlugins(moduleDirs);
  const database = await openDatabase(options);
  try {
    const { pool } = database;
    const tenancy = createTenancy({ pool, hintKnownTenants: devIdentityHeaders });
    const runBootstrap = () => bootstrap({ pool, tenancy, plugins, logger, seedDevData });
    const bootstrapReport = await runBootstrap();
    const rbac = createRbac({ pool });
    const identity = createIdentity({ pool, tenancy, jwtSecret, devHeaders: devIdentityHeaders });
    const services = { pool, tenancy, rbac, events: createEventBus(logger), cron: createCronScheduler(logger), logger };
    const mounted = [];
    for (const plugin of plugins) {
      const ctx = createPluginContext(plugin, services);
      try {
        await plugin.plugin.register(ctx);
      } catch (error) {
        throw new PluginLoadError(`Module ${plugin.dir}: register() of plugin "${plugin.meta.id}" failed: ${(error as Error).message}`, { cause: error });
      }
      mounted.push({ id: plugin.meta.id, version: plugin.meta.version, name: plugin.name, router: ctx.router });
    }
    if (runCron) services.cron.start();
    // Minting tokens and listing identities only makes sense where dev identities are accepted.
    const app = createHttpApp({ pool, plugins: mounted, identity, tenancy, rbac, logger, corsOrigins: cors ? corsOrigins : false, bodyLimit, devRoutes: devIdentityHeaders });
    return {
      app, database, tenancy, rbac, identity, plugins, bootstrapReport, devIdentity: devIdentityHeaders,
      rebootstrap: runBootstrap,
      close: async () => {
        services.cron.stop();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
