/**
 * The admin API (`/api/admin`): what operators do to plugins per tenant, over HTTP, on the same
 * services as the CLI (operations/). The sandbox mounts it with its own identity and RBAC; a
 * foundation mounts it through its bindings (docs/admin.md). Every route needs a signed-in user
 * holding the route's host permission (access.ts); every change is logged under that user.
 */
import express, { type Router } from 'express';
import type pg from 'pg';
import type { ModuleMigrations } from '../operations/migrations/plan.ts';
import type { PluginStats } from '../sandbox/observability/plugin-stats.ts';
import type { AdminAccess } from './access.ts';
import { auditRoutes } from './routes/audit.ts';
import { configRoutes, type PluginCatalog } from './routes/config.ts';
import { migrationRoutes } from './routes/migrations.ts';
import { roleRoutes } from './routes/roles.ts';
import { jobRoutes } from './routes/jobs.ts';
import { pluginRoutes } from './routes/plugins.ts';
import { statsRoutes } from './routes/stats.ts';

export type { AdminAccess } from './access.ts';
export type { PluginCatalog } from './routes/config.ts';

export interface AdminRouterOptions {
  pool: pg.Pool;
  /** The plugins this host runs, read from their module folders (migrations included). */
  modules: ModuleMigrations[];
  access: AdminAccess;
  /** Per-plugin request figures (`GET /plugins/stats`); that route is left out without them. */
  stats?: PluginStats;
  /** What each plugin declares besides its migrations: its configuration schemas. @default none (no configuration routes answer) */
  catalogs?: PluginCatalog[];
  /** Tells this process's job worker (operations/jobs/job-runner.ts) that a job was started or resumed. */
  kickJobs?: () => void;
}

export function adminRouter({ pool, modules, access, stats, kickJobs, catalogs = [] }: AdminRouterOptions): Router {
  const router = express.Router();
  router.use(access.authenticate);
  if (stats) router.use(statsRoutes(stats, access));
  router.use(pluginRoutes(pool, modules, access));
  router.use(migrationRoutes(pool, modules, access));
  router.use(configRoutes(pool, catalogs, access));
  router.use(roleRoutes(pool, modules.map((m) => m.id), access));
  router.use(jobRoutes({ pool, modules, access, kick: kickJobs }));
  router.use(auditRoutes(pool, access));
  return router;
}
