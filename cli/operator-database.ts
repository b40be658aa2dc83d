/**
 * The database an operator command works on, and where its tenants are listed. Run from a
 * foundation's root (one with `src/lib/foundation-module/`, which `vendor` made), the commands
 * work on the foundation's database (DATABASE_URL or --database-url: never an embedded one) and
 * its own tenant table (`tenantTable` in its bindings file), mirrored into the kit's registries
 * before anything is written. Anywhere else, the sandbox's database and `sys_tenant`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isKitTenantTable, KIT_TENANT_TABLE, readTenantDirectory, TenantDirectoryError, tenantRowsSql, unusableTenantsSql, type TenantDirectory } from '../foundation-lib/tenant-directory.ts';
import { openDatabase, type Database, type DatabaseOptions } from '../sandbox/data/database.ts';
import { refreshTenantMirror, TenantMirrorError } from '../sandbox/data/tenant-mirror.ts';
import { LIB_DIR } from '../vendor/layout.ts';
import { CliError, UsageError } from './errors.ts';

export interface OperatorDatabase extends Database {
  directory: TenantDirectory;
  /** The foundation's root when the command runs in one. */
  foundationRoot?: string;
  /** Brings the kit's copy of a foundation's tenants up to date (nothing for the sandbox). Call before writing. */
  refreshTenants(): Promise<void>;
}

/** The foundation whose root is `cwd`, if it is one. */
export function foundationAt(cwd: string): { root: string; directory: TenantDirectory } | undefined {
  const libDir = path.join(cwd, LIB_DIR);
  if (!fs.existsSync(libDir)) return undefined;
  try {
    return { root: cwd, directory: readTenantDirectory(libDir) };
  } catch (error) {
    throw error instanceof TenantDirectoryError ? new CliError(error.message, 1) : error;
  }
}

export async function openOperatorDatabase(options: DatabaseOptions, cwd: string, write: (line: string) => void): Promise<OperatorDatabase> {
  const foundation = foundationAt(cwd);
  if (foundation && !(options.databaseUrl ?? process.env.DATABASE_URL)) {
    throw new UsageError(`${cwd} is a foundation (it has ${LIB_DIR}/): give its database with DATABASE_URL or --database-url. Operator commands start no embedded PostgreSQL there.`);
  }
  const directory = foundation?.directory ?? KIT_TENANT_TABLE;
  // While `npm run dev` serves the sandbox's data, its server is the one to work on.
  const database = await openDatabase({ shareRunningEmbedded: true, ...options });
  try {
    if (!isKitTenantTable(directory)) await checkDirectory(database, directory, write);
  } catch (error) {
    await database.close();
    throw error;
  }
  return {
    ...database,
    directory,
    foundationRoot: foundation?.root,
    async refreshTenants() {
      try {
        await refreshTenantMirror(database.pool, directory);
      } catch (error) {
        throw error instanceof TenantMirrorError ? new CliError(error.message, 1) : error;
      }
    },
  };
}

/**
 * Which of the kit's system tables `tables` (schema-qualified) the database lacks. A database the
 * kit never set up has none, and a reading command would fail on its first query; `migrate up`
 * creates them. Asked without creating anything, so a look at the wrong database leaves it as it was.
 */
export async function missingSystemTables({ pool }: Pick<Database, 'pool'>, tables: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n) WHERE to_regclass(name) IS NULL ORDER BY n', [tables]);
  return rows.map((row) => row.name);
}

/** The refusal of a command that needs the system tables `missing`, with the way out. */
export const noSystemTables = (missing: readonly string[]) =>
  `This database has no foundation-module system tables yet (${missing.join(', ')}): run \`foundation-module migrate up\` first, which creates them.`;

/** The foundation's tenant table answers as the bindings' tenantTable says; its tenants the kit can't migrate are named. */
async function checkDirectory({ pool }: Database, directory: TenantDirectory, write: (line: string) => void): Promise<void> {
  try {
    await pool.query(`SELECT 1 FROM (${tenantRowsSql(directory)}) t LIMIT 0`);
  } catch (error) {
    throw new CliError(`The foundation's tenant table does not answer as tenantTable in the bindings says (${(error as Error).message}): table ${directory.table}, ` +
      `columns ${[directory.id, directory.code, directory.schema, directory.domain].filter(Boolean).join(', ')}. Fix tenantTable in ${LIB_DIR}/bindings.ts.`, 1);
  }
  const { rows } = await pool.query<{ foundation_id: string | null; schema_name: string | null }>(unusableTenantsSql(directory));
  for (const row of rows) {
    write(`warning: the foundation's tenant ${row.foundation_id ?? '(no id)'} is left out: its schema ${JSON.stringify(row.schema_name)} is not a name the kit migrates (lowercase letters, digits and _, not public, not pg_*).`);
  }
}
