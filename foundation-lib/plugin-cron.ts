/**
 * Kit-owned (create-foundation-module): `ctx.cron` in a foundation. `foundation-module vendor`
 * places this file (with croner among the foundation's dependencies) once a module that schedules
 * jobs is vendored, and keeps it from then on; plugin-router.ts loads it when it is there.
 *
 * One scheduler for every module of the foundation, made with the first module's bindings; jobs
 * run only in tenants where all of the module's migrations ran (its `migrations/` folder, read at
 * load).
 */
import type { CronCapability } from 'create-foundation-module/contract';
import pg from 'pg';
import { createCronScheduler, type CronScheduler } from './cron-scheduler.ts';
import { migrationNamesIn, migrationReadiness, type PluginMigrationNames } from './migration-readiness.ts';
import type { FoundationBindings } from './plugin-router.ts';

let scheduler: CronScheduler | undefined;
/** Each module's migration files: cron runs only in tenants where all of them ran. */
const expectedMigrations = new Map<string, PluginMigrationNames>();
/** Where cron reads the migration ledger: a connection of its own, never the foundation's pool. */
let ledgerPool: pg.Pool | undefined;

/** Notes the migrations of the module `pluginId` from its `migrations/` folder. */
export function expectMigrations(pluginId: string, migrationsDir: string): void {
  expectedMigrations.set(pluginId, migrationNamesIn(migrationsDir));
}

/** `ctx.cron` of one plugin; `inScope` runs a job with its tenant as the request's. */
export function cronCapability(pluginId: string, bindings: FoundationBindings, inScope: (tenantId: string, run: () => Promise<void>) => Promise<void>): CronCapability {
  let capability: CronCapability | undefined;
  return {
    register(spec, job) {
      const jobs = cronScheduler(bindings, inScope);
      // One capability per plugin: it numbers the plugin's jobs, which names their run locks.
      capability ??= jobs.forPlugin(pluginId);
      capability.register(spec, job);
      if (process.env.FOUNDATION_MODULE_CRON !== 'off') jobs.start();
    },
  };
}

/** Stops the cron jobs of every module and lets their run locks go. */
export async function stopCronJobs(): Promise<void> {
  const stopping = scheduler;
  const ledger = ledgerPool;
  scheduler = undefined;
  ledgerPool = undefined;
  await stopping?.stop();
  await ledger?.end();
}

function cronScheduler(bindings: FoundationBindings, inScope: (tenantId: string, run: () => Promise<void>) => Promise<void>): CronScheduler {
  if (scheduler) return scheduler;
  const connection = bindings.cronLockConnection();
  // One connection at most, closed when idle: it never holds the process open.
  const ledger = connection ? new pg.Pool({ ...connection, max: 1, idleTimeoutMillis: 5_000, allowExitOnIdle: true }) : undefined;
  ledger?.on('error', () => {});
  ledgerPool = ledger;
  scheduler = createCronScheduler(bindings.logger, {
    listTenants: () => bindings.listTenants(),
    isEnabled: (pluginId, tenantId) => (tenantId === null ? bindings.isEnabledGlobally(pluginId) : bindings.isEnabled(pluginId, tenantId)),
    inScope,
    ...(ledger ? { migratedTenants: migrationReadiness(ledger, (pluginId) => expectedMigrations.get(pluginId)) } : {}),
    locks: connection ? { connection, applicationName: 'foundation-module-cron', unref: true } : undefined,
    unref: true,
  });
  return scheduler;
}
