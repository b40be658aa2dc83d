/**
 * The sandbox host: wires the parts together and nothing else. Each part lives in its own file
 * and is built by its own factory; tests build the same sandbox through `createSandbox`.
 */
import type express from 'express';
import { bootstrap, type BootstrapReport } from './bootstrap.ts';
import { createCronScheduler } from './cron.ts';
import { openDatabase, type Database, type DatabaseOptions } from './db.ts';
import { createEventBus } from './events.ts';
import { createHttpApp } from './http.ts';
import { createIdentity, type Identity } from './identity.ts';
import { createLogger, type Logger } from './logger.ts';
import { createPluginContext } from './plugin-context.ts';
import { loadPlugins, PluginLoadError, type LoadedPlugin } from './plugin-loader.ts';
import { createRbac, type Rbac } from './rbac.ts';
import { createTenancy, type Tenancy } from './tenancy.ts';

export interface SandboxOptions extends DatabaseOptions {
  /** Module directories to load (each holds plugin/index.ts). */
  moduleDirs: string[];
  /** Accept `X-Tenant-Id` / `X-User-Id` as identity, and serve `/api/sandbox/*` (tokens, identities). @default true */
  devIdentityHeaders?: boolean;
  /** Secret of dev bearer tokens. @default process.env.SANDBOX_JWT_SECRET ?? a fixed dev secret */
  jwtSecret?: string;
  /** Permissive CORS for the dev shell. @default true */
  cors?: boolean;
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
  /** What the start-up bootstrap did (migrations applied). */
  bootstrapReport: BootstrapReport;
  /** Runs the bootstrap again (idempotent); returns what it did. */
  rebootstrap(): Promise<BootstrapReport>;
  /** Stops cron, ends the pool (unless passed in) and stops the embedded server (if started). */
  close(): Promise<void>;
}

export const DEV_JWT_SECRET = 'foundation-sandbox-dev-secret';

export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  const {
    moduleDirs, devIdentityHeaders = true, jwtSecret = process.env.SANDBOX_JWT_SECRET ?? DEV_JWT_SECRET,
    cors = true, bodyLimit = '1mb', seedDevData = true, runCron = false, logger = createLogger(),
  } = options;
  // Plugins are checked before any database is touched: a bad module costs no start-up.
  const plugins = await loadPlugins(moduleDirs);
  const database = await openDatabase(options);
  try {
    const { pool } = database;
    const tenancy = createTenancy({ pool });
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
    const app = createHttpApp({ pool, plugins: mounted, identity, tenancy, rbac, logger, cors, bodyLimit, devRoutes: devIdentityHeaders });
    return {
      app, database, tenancy, rbac, identity, plugins, bootstrapReport,
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
