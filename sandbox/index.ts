/**
 * The sandbox host: wires the parts together and nothing else. Each part lives in its own file
 * and is built by its own factory; tests build the same sandbox through `createSandbox`.
 */
import type express from 'express';
import type pg from 'pg';
import { bootstrap, type BootstrapReport } from './bootstrap.ts';
import { createCronScheduler, type CronScheduler } from '../foundation-lib/cron-scheduler.ts';
import { sandboxCronHost } from './plugins/cron-host.ts';
import { openDatabase, type Database, type DatabaseOptions } from './data/database.ts';
import { createEventBus } from './plugins/events.ts';
import { createHttpApp } from './http/app.ts';
import { adminRouter } from '../admin/router.ts';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { startJobWorker } from '../operations/jobs/job-runner.ts';
import { readinessRoute } from './http/readiness.ts';
import { createChangeHandler } from './change-handler.ts';
import { startChangeListener } from './data/change-listener.ts';
import type { HeartbeatSettings } from './data/listener-heartbeat.ts';
import { checkedPluginIds, corsOriginsFromEnv, devIdentityFromEnv, disabledPluginsFromEnv, listenerHeartbeatFromEnv, metricsFromEnv, type CorsOrigins } from './env-settings.ts';
import { createIdentity, jwtSecretFor, type Identity } from './access/identity.ts';
import { createLogger, type Logger } from './logger.ts';
import { createPluginContext } from './plugins/context.ts';
import { loadPlugins, PluginLoadError, type LoadedPlugin } from './plugins/loader.ts';
import { createRbac, type Rbac } from './access/rbac.ts';
import { createAccessCaches } from './access/access-caches.ts';
import { createEnablementCache, type EnablementCache } from '../operations/registry/enablement-cache.ts';
import { createTenancy, type Tenancy } from './data/tenancy.ts';
import { cacheStatsProviders, createMetrics, type Metrics } from './observability/metrics.ts';
import { createPluginStats, type PluginStats } from './observability/plugin-stats.ts';

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
  /** Work on admin jobs (bulk changes, migration runs) started here or left by a process that stopped. @default true */
  runJobs?: boolean;
  /**
   * Follow changes that other processes (the CLI, a second sandbox) make to tenants and plugin
   * enablement, through LISTEN on `foundation_changes` (one connection of its own, outside the
   * pool). Off, the caches change only through `refresh()` and `rebootstrap()`. @default true
   */
  listenForChanges?: boolean;
  /**
   * How the change listener proves its connection alive: a round trip every `intervalMs`; one
   * unanswered for `timeoutMs` counts as a lost connection (the caches are read again meanwhile).
   * @default SANDBOX_LISTENER_HEARTBEAT_MS and SANDBOX_LISTENER_HEARTBEAT_TIMEOUT_MS, else every 1000 ms, 2000 ms to answer
   */
  listenerHeartbeat?: Partial<HeartbeatSettings>;
  /**
   * Plugin ids this process treats as disabled globally, whatever the database says (403
   * `PLUGIN_DISABLED`). An invalid id refuses the start.
   * @default FOUNDATION_DISABLED_PLUGINS (comma-separated), else none
   */
  disabledPlugins?: readonly string[];
  /** @default a pino logger at LOG_LEVEL (info) */
  logger?: Logger;
  /**
   * Serve Prometheus metrics at `GET /metrics`, with no identity: in production, scrape them on
   * an internal port or behind protection (docs/observability.md). @default SANDBOX_METRICS, else true
   */
  metrics?: boolean;
}

export interface Sandbox {
  app: express.Express;
  database: Database;
  tenancy: Tenancy;
  rbac: Rbac;
  identity: Identity;
  /** What the enablement gate asks: every loaded plugin's switches, in memory. */
  enablement: EnablementCache;
  plugins: LoadedPlugin[];
  /** What `GET /metrics` serves; undefined with `metrics: false` (or without prom-client installed). */
  metrics: Metrics | undefined;
  /** Per-plugin request figures, as `GET /api/admin/plugins/stats` answers them. */
  pluginStats: PluginStats;
  /** Plugins' cron jobs: scheduled with `runCron`; `runAll()` runs each once now, in every enabled tenant (tests). */
  cron: CronScheduler;
  /** Whether dev identity is on (dev headers, /api/sandbox/*, the built-in secret). */
  devIdentity: boolean;
  /** What the start-up bootstrap did (migrations applied). */
  bootstrapReport: BootstrapReport;
  /** Runs the bootstrap again (idempotent), then `refresh()`; returns what the bootstrap did. */
  rebootstrap(): Promise<BootstrapReport>;
  /**
   * Re-reads every cache (tenants, users, permissions, enablement) and takes on tenants created elsewhere, as after
   * missed notifications. Needed only for changes made without a notification (plain SQL), or
   * with `listenForChanges: false`.
   */
  refresh(): Promise<void>;
  /** Stops cron and the change listener, ends the pool (unless passed in) and stops the embedded server (if started). */
  close(): Promise<void>;
}

export { DEV_JWT_SECRET } from './access/identity.ts';

export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  const {
    moduleDirs, devIdentityHeaders = devIdentityFromEnv(), jwtSecret: givenSecret = process.env.SANDBOX_JWT_SECRET,
    cors = true, corsOrigins = corsOriginsFromEnv(), bodyLimit = '1mb', seedDevData = true, runCron = false, runJobs = true, logger = createLogger(),
    listenForChanges = true, disabledPlugins: givenDisabled = disabledPluginsFromEnv(), metrics: metricsOn = metricsFromEnv(),
  } = options;
  // Settings are checked before anything starts: a production sandbox without a secret never comes up.
  const jwtSecret = jwtSecretFor({ secret: givenSecret, devIdentity: devIdentityHeaders });
  const disabledPlugins = checkedPluginIds(givenDisabled, 'disabledPlugins');
  const heartbeat = listenForChanges ? { ...listenerHeartbeatFromEnv(), ...options.listenerHeartbeat } : undefined;
  // Plugins are checked before any database is touched: a bad module costs no start-up.
  const plugins = await loadPlugins(moduleDirs);
  // The kill switch may be set for a whole fleet, where not every process loads every plugin: said, not refused.
  const strangers = disabledPlugins.filter((id) => !plugins.some((p) => p.meta.id === id));
  if (strangers.length > 0) logger.warn({ disabledPlugins: strangers }, `the kill switch (FOUNDATION_DISABLED_PLUGINS) names plugins that are not loaded: ${strangers.join(', ')}`);
  const database = await openDatabase(options);
  const stopping: (() => unknown)[] = [];
  const stopChanges = async () => {
    for (const stop of stopping.splice(0).reverse()) await stop();
  };
  try {
    const { pool } = database;
    const tenancy = createTenancy({ pool, hintKnownTenants: devIdentityHeaders });
    // A dev setup (dev data, dev identity): the dev admin holds its role in every tenant, dev or not.
    const devRolesInEveryTenant = devIdentityHeaders;
    const bootstrapReport = await bootstrap({ pool, tenancy, plugins, logger, seedDevData, devRolesInEveryTenant });
    if (!database.sessionsKept) {
      logger.warn('the database is reached through a transaction pooler, which does not keep a session: changes made by other processes ' +
        "(tenants, plugins enable/disable, roles) reach this process only when it restarts, and cron's run locks are not kept (jobs may stop running). " +
        'Set SANDBOX_SESSION_DATABASE_URL to PostgreSQL itself or to a session-mode pooler database (docs/operations.md, "Behind a connection pooler").');
    }
    const enablement = createEnablementCache({ pool, pluginIds: plugins.map((p) => p.meta.id), disabledPlugins, logger });
    stopping.push(() => enablement.close());
    // Users and permission sets, shared by identity, RBAC and the change handler that keeps them true.
    const access = createAccessCaches({ pool });
    // The job worker starts later; a job announced meanwhile finds it at its first look.
    let kickJobs = () => {};
    const changes = createChangeHandler({ pool, tenancy, enablement, access, plugins, logger, grantDevRoles: seedDevData && devRolesInEveryTenant, onJobs: () => kickJobs() });
    stopping.push(() => changes.close());
    // Listening before the first reading: a change committed in between is then read twice, never missed.
    if (listenForChanges) {
      const listener = await startChangeListener({
        // A connection that keeps its session: the pool's own settings, or SANDBOX_SESSION_DATABASE_URL's.
        connection: database.sessionConnection, logger, heartbeat,
        onChange: (change) => changes.apply(change),
        onResync: () => void changes.resync().catch(() => {}), // the cache logs its failures and retries
      });
      stopping.push(() => listener.close());
    }
    await enablement.refresh();
    await changes.start(bootstrapReport.skipped.map((s) => s.tenant));
    const refresh = () => changes.resync();
    const runBootstrap = async () => {
      const report = await bootstrap({ pool, tenancy, plugins, logger, seedDevData, devRolesInEveryTenant });
      await refresh();
      return report;
    };
    const rbac = createRbac({ pool, permissions: access.permissions, onWrite: access.forget });
    const identity = createIdentity({ pool, tenancy, jwtSecret, devHeaders: devIdentityHeaders, users: access.users });
    const cron = createCronScheduler(logger, sandboxCronHost({ pool, sessionConnection: database.sessionConnection, tenancy, enablement, plugins }));
    const services = { pool, tenancy, rbac, events: createEventBus(logger), cron, logger, enablement };
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
    if (runCron) {
      services.cron.start();
      stopping.push(() => services.cron.stop()); // also when a later step of the start fails
    }
    // Caches are wired by name once they count their hits (a `stats()` method); the others are skipped.
    const caches = cacheStatsProviders({ tenants: tenancy, users: identity, permissions: rbac, enablement });
    const metrics = metricsOn ? await createMetrics({ pool, caches, logger, pluginIds: mounted.map((p) => p.id) }) : undefined;
    const pluginStats = createPluginStats(mounted.map((p) => p.id));
    // Minting tokens and listing identities only makes sense where dev identities are accepted.
    const modules = plugins.map((p) => readModuleMigrations(p.dir));
    // Jobs outlive the process that started them: every sandbox works on those left without a worker.
    // A database that is away fails every look: said once a minute, not at each.
    let quietUntil = 0;
    const jobError = (error: unknown) => {
      if (Date.now() < quietUntil) return;
      quietUntil = Date.now() + 60_000;
      logger.error({ err: error }, 'job worker: could not look for or work on jobs (said again in a minute if it goes on)');
    };
    const jobs = runJobs ? startJobWorker({ pool, modules, lastMinute: pluginStats.lastMinute, onError: jobError }) : undefined;
    if (jobs) {
      stopping.push(() => jobs.close());
      kickJobs = jobs.kick;
    }
    const admin = adminRouter({
      pool, modules, stats: pluginStats, kickJobs: jobs?.kick,
      catalogs: plugins.map((p) => ({ id: p.meta.id, configSchemas: p.configSchemas })),
      access: {
        authenticate: identity.middleware, can: (who, permission) => rbac.can(who, permission),
        actorName: async (who) => (await identity.findUserById(who.userId))?.email ?? who.userId,
      },
    });
    const app = createHttpApp({ plugins: mounted, identity, tenancy, rbac, enablement, logger, corsOrigins: cors ? corsOrigins : false, bodyLimit, devRoutes: devIdentityHeaders, metrics, stats: pluginStats, readiness: readinessRoute(pool), admin });
    return {
      app, database, tenancy, rbac, identity, enablement, plugins, bootstrapReport, devIdentity: devIdentityHeaders, metrics, pluginStats,
      rebootstrap: runBootstrap, refresh,
      cron,
      close: async () => {
        await services.cron.stop();
        await stopChanges();
        await database.close();
      },
    };
  } catch (error) {
    await stopChanges();
    await database.close();
    throw error;
  }
}
