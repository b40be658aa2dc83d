/**
 * What the sandbox gives cron (foundation-lib/cron-scheduler.ts): its tenants, the enablement
 * cache, the plugin's log scope, a session of its own for the run locks and claims, and which
 * tenants have every migration of the plugin applied (read from the ledger, as a foundation's
 * adapter can too).
 */
import type pg from 'pg';
import type { CronHost } from '../../foundation-lib/cron-scheduler.ts';
import { migrationReadiness, type PluginMigrationNames } from '../../foundation-lib/migration-readiness.ts';
import type { Tenancy } from '../data/tenancy.ts';
import { readMigrations } from '../../operations/migrations/files.ts';
import type { EnablementCache } from '../../operations/registry/enablement-cache.ts';
import type { LoadedPlugin } from './loader.ts';
import { inScope } from './scope.ts';

export interface SandboxCronHostOptions {
  pool: pg.Pool;
  /** How to open the run locks' own session (database.ts `sessionConnection`). @default the pool's settings */
  sessionConnection?: pg.ClientConfig;
  tenancy: Tenancy;
  enablement: EnablementCache;
  plugins: LoadedPlugin[];
}

export function sandboxCronHost({ pool, sessionConnection, tenancy, enablement, plugins }: SandboxCronHostOptions): CronHost {
  // The files as loaded with the plugin's code: what that code expects to find in the schema.
  const expected = new Map<string, PluginMigrationNames>(plugins.map(({ meta, dir }) => [meta.id, {
    public: readMigrations(dir, 'public').map((file) => file.name),
    tenant: readMigrations(dir, 'tenant').map((file) => file.name),
  }]));
  return {
    listTenants: async () => (await tenancy.list()).map((tenant) => tenant.id),
    isEnabled: (pluginId, tenantId) => {
      const answer = enablement.check(pluginId, tenantId);
      return tenantId === null ? answer.global : answer.global && answer.tenant === true;
    },
    inScope: (tenantId, run) => inScope({ tenantId, requestId: undefined }, run),
    migratedTenants: migrationReadiness(pool, (pluginId) => expected.get(pluginId)),
    // Opened only when cron starts, on a connection that keeps its session (behind a transaction pooler, SANDBOX_SESSION_DATABASE_URL's).
    locks: { connection: sessionConnection ?? { ...(pool.options as pg.ClientConfig) } },
  };
}
