/**
 * Brings a database to the state the sandbox needs, on every start and idempotently: system
 * tables, registries, dev data, and every loaded plugin's migrations in every tenant. A second
 * run finds nothing to do and changes nothing. Concurrent starts queue on one advisory lock.
 */
import type pg from 'pg';
import { inTransaction } from './data/database.ts';
import type { Logger } from './logger.ts';
import { seedDevData } from './data/dev-seed.ts';
import { migrateTarget } from './migrations/apply.ts';
import { readMigrations } from './migrations/files.ts';
import type { LoadedPlugin } from './plugins/loader.ts';
import { recordTenantPlugins } from './registry/enablement.ts';
import { recordPlugins } from './registry/plugins.ts';
import { ensureSystemSchema } from './data/system-schema.ts';
import type { Tenancy } from './data/tenancy.ts';

/** Advisory lock key held while bootstrapping: the bytes of "fmboot" read as an integer. */
export const BOOTSTRAP_LOCK_KEY = 0x666d626f6f74n;

export interface BootstrapOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  plugins: LoadedPlugin[];
  logger: Logger;
  /** Create the dev tenants and users. @default true */
  seedDevData?: boolean;
}

export interface BootstrapReport {
  /** `<plugin>:<scope>/<file>@<tenant code or public>` for each migration applied by this run. */
  applied: string[];
  /** Tenants left alone because their schema does not exist (their requests answer 503). */
  skipped: { tenant: string; schema: string; reason: string }[];
}

export async function bootstrap({ pool, tenancy, plugins, logger, seedDevData: seed = true }: BootstrapOptions): Promise<BootstrapReport> {
  const applied: string[] = [];
  const skipped: BootstrapReport['skipped'] = [];
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [BOOTSTRAP_LOCK_KEY.toString()]);
    await inTransaction(lock, async () => {
      await ensureSystemSchema(lock);
      await recordPlugins(lock, plugins);
      if (seed) await seedDevData(lock);
    });
    tenancy.invalidate();
    // A missing schema would make search_path fall through to public: the module's tables and
    // its ledger rows would land there. Such a tenant is reported, never migrated.
    const { rows: existing } = await lock.query<{ nspname: string }>('SELECT nspname FROM pg_namespace');
    const schemas = new Set(existing.map((r) => r.nspname));
    const tenants = (await tenancy.list()).filter((tenant) => {
      if (schemas.has(tenant.schema)) return true;
      skipped.push({ tenant: tenant.code, schema: tenant.schema, reason: 'schema missing' });
      return false;
    });
    for (const { tenant, schema } of skipped) {
      logger.error({ tenant, schema }, `tenant ${tenant} has no schema "${schema}": no migration runs for it and its requests are refused until the schema is restored`);
    }
    for (const plugin of plugins) {
      const publicFiles = readMigrations(plugin.dir, 'public');
      for (const name of await migrateTarget(pool, plugin, publicFiles, { scope: 'public' })) applied.push(`${plugin.meta.id}:public/${name}@public`);
      const tenantFiles = readMigrations(plugin.dir, 'tenant');
      for (const tenant of tenants) {
        for (const name of await migrateTarget(pool, plugin, tenantFiles, { scope: 'tenant', tenant })) {
          applied.push(`${plugin.meta.id}:tenant/${name}@${tenant.code}`);
        }
      }
    }
    await recordTenantPlugins(lock, plugins, tenants.map((t) => t.id));
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [BOOTSTRAP_LOCK_KEY.toString()]).catch((error: Error) => {
      logger.warn({ err: error }, 'could not release the bootstrap lock; it goes with the connection');
    });
    lock.release();
  }
  if (applied.length) logger.info({ applied }, `applied ${applied.length} migration(s)`);
  return { applied, skipped };
}
