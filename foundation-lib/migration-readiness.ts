/**
 * Which tenants a plugin's cron jobs may run in as far as its migrations go: those where the
 * ledger (`public.sys_plugin_migrations`) records every one of the plugin's tenant migrations, when
 * its public ones have all run too. A tenant created after the start and not migrated yet, or a
 * migration the code already expects but `migrate up` has not run, would make each tick fail there.
 *
 * Names only: a file whose checksum changed after it ran is still applied (`migrate validate`
 * reports it). One query per tick, whatever the number of tenants.
 *
 * Shared by the sandbox and, vendored, by a foundation's adapter: imports only the library beside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { kitTenantIdSql } from './tenant-directory.ts';

/** The migration files (names, such as `001_init.sql`) a plugin's code expects to have run. */
export interface PluginMigrationNames {
  public: readonly string[];
  tenant: readonly string[];
}

/** An up migration's file name (`NNN_name.sql`, not `.down.sql`): the rule of rules/migration-file.ts, restated for a foundation. */
const UP_FILE = /^\d+_[a-z0-9]+(?:_[a-z0-9]+)*\.sql$/;

/** The files of a module's `migrations/` folder as vendored beside its code (none when it has no such folder). */
export function migrationNamesIn(migrationsDir: string): PluginMigrationNames {
  const names = (scope: 'public' | 'tenant') => {
    const dir = path.join(migrationsDir, scope);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => UP_FILE.test(name) && !name.endsWith('.down.sql')).sort() : [];
  };
  return { public: names('public'), tenant: names('tenant') };
}

export interface LedgerReader {
  query<Row>(text: string, params: unknown[]): Promise<{ rows: Row[] }>;
}

// Tenant ids as the host has them; the ledger keys tenants by the kit's uuid (tenant-directory.ts).
const MIGRATED_TENANTS = `
SELECT t.id FROM unnest($2::text[]) AS t(id)
  JOIN (SELECT m.tenant_id FROM public.sys_plugin_migrations m
         WHERE m.plugin_id = $1 AND m.scope = 'tenant' AND m.name = ANY($3::text[])
         GROUP BY m.tenant_id HAVING count(*) = cardinality($3::text[])) done
    ON done.tenant_id = ${kitTenantIdSql('t.id')}`;

const PUBLIC_APPLIED = `
SELECT count(*)::int AS applied FROM public.sys_plugin_migrations
 WHERE plugin_id = $1 AND scope = 'public' AND tenant_id IS NULL AND name = ANY($2::text[])`;

/** `migratedTenants` of a cron host: `migrations` answers a plugin's expected files (undefined: none). */
export function migrationReadiness(db: LedgerReader, migrations: (pluginId: string) => PluginMigrationNames | undefined) {
  return async function migratedTenants(pluginId: string, tenantIds: string[]): Promise<ReadonlySet<string>> {
    const expected = migrations(pluginId);
    const publicNames = [...new Set(expected?.public ?? [])];
    const tenantNames = [...new Set(expected?.tenant ?? [])];
    try {
      if (publicNames.length > 0) {
        const { rows } = await db.query<{ applied: number }>(PUBLIC_APPLIED, [pluginId, publicNames]);
        if (rows[0]!.applied < publicNames.length) return new Set();
      }
      if (tenantNames.length === 0) return new Set(tenantIds);
      const { rows } = await db.query<{ id: string }>(MIGRATED_TENANTS, [pluginId, tenantIds, tenantNames]);
      return new Set(rows.map((row) => row.id));
    } catch (error) {
      // No ledger: the kit's migrations never ran in this database, so none of the plugin's did.
      if ((error as { code?: string }).code === '42P01') return new Set();
      throw error;
    }
  };
}
