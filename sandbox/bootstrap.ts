/**
 * Brings a database to the state the sandbox needs, on every start and idempotently: system
 * tables, registries, dev data, and every loaded plugin's migrations in every tenant. A second
 * run finds nothing to do and changes nothing. Concurrent starts queue on one advisory lock.
 */
import type pg from 'pg';
import { isPooledConnection } from './data/connection-mode.ts';
import { inTransaction } from './data/database.ts';
import { seedDevData } from './data/dev-seed.ts';
import { ensureSystemSchema, SYSTEM_SCHEMA_LOCK_KEY } from './data/system-schema.ts';
import type { Tenancy } from './data/tenancy.ts';
import { SandboxStartError } from './errors.ts';
import type { Logger } from './logger.ts';
import { readMigrations } from '../operations/migrations/files.ts';
import type { ModuleMigrations } from '../operations/migrations/plan.ts';
import { runMigrations } from '../operations/migrations/runner.ts';
import { recordHostPermissions } from './observability/host-permissions.ts';
import type { LoadedPlugin } from './plugins/loader.ts';
import { recordTenantPlugins } from '../operations/registry/enablement.ts';
import { keptPermissionMessage } from '../operations/registry/permission-catalog.ts';
import { PluginDowngradeError } from '../operations/registry/plugin-versions.ts';
import { recordPlugins } from '../operations/registry/plugins.ts';
import { actAs, currentActor } from './data/transaction-actor.ts';

/** Advisory lock key held while bootstrapping (the system tables' own: see system-schema.ts). */
export const BOOTSTRAP_LOCK_KEY = SYSTEM_SCHEMA_LOCK_KEY;

export interface BootstrapOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  plugins: LoadedPlugin[];
  logger: Logger;
  /** Create the dev tenants and users. @default true */
  seedDevData?: boolean;
  /** With `seedDevData`: the dev admin's role in every tenant, not only the dev tenants (dev-seed.ts). @default true */
  devRolesInEveryTenant?: boolean;
}

export interface BootstrapReport {
  /** `<plugin>:<scope>/<file>@<tenant code or public>` for each migration applied by this run. */
  applied: string[];
  /** Tenants left alone because their schema does not exist (their requests answer 503). */
  skipped: { tenant: string; schema: string; reason: string }[];
}

/** What every start does; the changes it makes are logged as the sandbox's (operations/audit). */
export function bootstrap(options: BootstrapOptions): Promise<BootstrapReport> {
  return currentActor() ? bootstrapAsIs(options) : actAs({ actor: 'sandbox', source: 'sandbox' }, () => bootstrapAsIs(options));
}

async function bootstrapAsIs({ pool, tenancy, plugins, logger, seedDevData: seed = true, devRolesInEveryTenant = true }: BootstrapOptions): Promise<BootstrapReport> {
  const lock = await pool.connect();
  // Behind a transaction pooler a session-level lock would stay on whichever server connection took
  // it, held by a session nobody owns, and the next start would wait for it. There the lock is the
  // first transaction's: it keeps the system tables' DDL and the seed to one start at a time, and
  // the migrations that follow rely on the runner's own locks, as concurrent `migrate up` runs do.
  const sessionLock = !isPooledConnection(lock);
  try {
    if (sessionLock) await lock.query('SELECT pg_advisory_lock($1)', [BOOTSTRAP_LOCK_KEY.toString()]);
    // The system schema's DDL locks tables that a running sandbox writes in another order (taking
    // on a tenant): one of the two may be a deadlock's victim. The whole transaction runs again.
    const kept = await inTransaction(lock, async () => {
      if (!sessionLock) await lock.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY.toString()]);
      await ensureSystemSchema(lock);
      const keptOfPlugins = await recordPlugins(lock, plugins).catch((error) => {
        throw error instanceof PluginDowngradeError ? downgradeRefused(error) : error;
      });
      // Before the seed: the dev admin is granted the whole catalog, the host's permissions included.
      const keptOfHost = await recordHostPermissions(lock);
      if (seed) await seedDevData(lock, { everyTenant: devRolesInEveryTenant });
      return [...keptOfPlugins, ...keptOfHost];
    }, { deadlockRetries: 5 });
    for (const permission of kept) logger.warn({ keptPermission: permission }, keptPermissionMessage(permission));
    tenancy.invalidate();
    // The runner that `foundation-module migrate` runs: every plugin, every tenant, in parallel.
    const report = await runMigrations({
      pool, modules: plugins.map(moduleMigrationsOf), systemSchemaReady: true, enableNewPlugins: true,
      // In development a failing migration is fixed and the sandbox started again: never quarantined.
      retryQuarantined: true,
      // …and the newest migration is written by editing it: a changed file is undone and applied again.
      redoChangedFiles: seed && devRolesInEveryTenant,
      // This lock holds one connection, each worker one, and the journal one.
      concurrency: Math.max(1, Math.min(4, (pool.options.max ?? 10) - 2)),
    });
    for (const line of report.redone) logger.warn({ redone: line }, line);
    for (const file of report.plan.empty) {
      logger.info({ empty: file }, `${file.pluginId} ${file.scope}/${file.name} has no statement yet: it is not applied until it has one (the API restarts when you save it)`);
    }
    const applied = report.results.flatMap(({ work, outcome }) => outcome.applied.map((file) => `${work.module.id}:${work.target.scope}/${file}@${work.target.tenantCode ?? 'public'}`));
    if (applied.length) logger.info({ applied }, `applied ${applied.length} migration(s)`);
    // A missing schema would make search_path fall through to public: such a tenant is reported, never migrated.
    const missing = report.blocked.filter((w) => w.blocked!.reason === 'schema-missing');
    const skipped = [...new Map(missing.map((w) => [w.target.schema, { tenant: w.target.tenantCode!, schema: w.target.schema, reason: 'schema missing' }])).values()];
    for (const { tenant, schema } of skipped) {
      logger.error({ tenant, schema }, `tenant ${tenant} has no schema "${schema}": no migration runs for it and its requests are refused until the schema is restored`);
    }
    for (const { outcome } of report.results) if (outcome.state !== 'done') throw new SandboxStartError(outcome.error);
    const refused = report.blocked.find((w) => w.blocked!.reason !== 'schema-missing')?.blocked;
    if (refused) throw new SandboxStartError(refused.message);
    const tenants = (await tenancy.list()).filter((t) => !skipped.some((s) => s.schema === t.schema));
    // In a transaction of its own: as one change, and logged as the sandbox's.
    await inTransaction(lock, () => recordTenantPlugins(lock, plugins, tenants.map((t) => t.id)));
    return { applied, skipped };
  } finally {
    if (sessionLock) {
      await lock.query('SELECT pg_advisory_unlock($1)', [BOOTSTRAP_LOCK_KEY.toString()]).catch((error: Error) => {
        logger.warn({ err: error }, 'could not release the bootstrap lock; it goes with the connection');
      });
    }
    lock.release();
  }
}

/** The start refused, saying which versions met and what to do; the transaction wrote nothing. */
function downgradeRefused(error: PluginDowngradeError): SandboxStartError {
  const { module, installed } = error;
  return new SandboxStartError(`Plugin "${module.id}" is installed at ${installed} in this database, but the module folder ${module.dir ?? ''} has the older ${module.version}: ` +
    `the sandbox did not start and changed nothing (an older copy would set the installed version back and drop the permissions tenants were granted). ` +
    `Start it with the module folder at ${installed} or newer, or on another database (another --sandbox-dir or DATABASE_URL; or stop dev and rm -rf .sandbox to start from empty data).`,
  { cause: error });
}

/** A loaded plugin as the runner sees it: its checked meta, and its files read from its folder. */
function moduleMigrationsOf({ meta, dir }: LoadedPlugin): ModuleMigrations {
  return { id: meta.id, version: meta.version, api: meta.api, dir, files: { public: readMigrations(dir, 'public'), tenant: readMigrations(dir, 'tenant') } };
}
