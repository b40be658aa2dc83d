/**
 * A module's SQL migrations: `migrations/public/*.sql` run once per database, and
 * `migrations/tenant/*.sql` once in every tenant schema, in file order, each recorded in
 * `sys_plugin_migrations` with the sha256 of its text. A recorded file whose text changed is
 * refused, never re-run. `NNN_name.down.sql` files undo; they are not applied going up.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { TenantInfo } from './contract.ts';
import { MIGRATION_FILE_RULE, parseMigrationFileName } from '../rules/index.ts';
import { SandboxStartError } from './errors.ts';
import type { LoadedPlugin } from './plugin-loader.ts';
import { inSchemaTransaction } from './tenancy.ts';

export type MigrationScope = 'public' | 'tenant';

export interface MigrationFile {
  /** File name, e.g. `001_init.sql`; the key recorded in sys_plugin_migrations. */
  name: string;
  sql: string;
  checksum: string;
}


export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The up migrations of one scope of a module, in order. Names that don't fit are refused. */
export function readMigrations(moduleDir: string, scope: MigrationScope): MigrationFile[] {
  const dir = path.join(moduleDir, 'migrations', scope);
  if (!fs.existsSync(dir)) return [];
  const files: { number: number; name: string }[] = [];
  for (const name of fs.readdirSync(dir)) {
    const parsed = parseMigrationFileName(name);
    if (!parsed) {
      if (name.endsWith('.sql')) throw new SandboxStartError(`Migration ${path.join(dir, name)}: ${MIGRATION_FILE_RULE}.`);
      continue;
    }
    if (parsed.down) continue;
    const same = files.find((f) => f.number === parsed.number);
    if (same) throw new SandboxStartError(`Migrations ${same.name} and ${name} in ${dir} share the number ${parsed.number}: renumber one.`);
    files.push({ number: parsed.number, name });
  }
  return files
    .sort((a, b) => a.number - b.number)
    .map(({ name }) => {
      const sql = fs.readFileSync(path.join(dir, name), 'utf8');
      return { name, sql, checksum: sha256(sql) };
    });
}

interface Target {
  scope: MigrationScope;
  tenant?: TenantInfo;
}

/**
 * Applies what is pending of `plugin`'s migrations for one target (public, or one tenant), in
 * one transaction on that schema: all of them or none. Returns the names applied.
 */
export async function migrateTarget(pool: pg.Pool, plugin: LoadedPlugin, files: MigrationFile[], target: Target): Promise<string[]> {
  if (files.length === 0) return [];
  const schema = target.tenant?.schema ?? 'public';
  const tenantId = target.tenant?.id ?? null;
  const where = target.tenant ? `tenant ${target.tenant.code} (schema ${schema})` : 'the public schema';
  return inSchemaTransaction(pool, schema, async (client) => {
    const { rows } = await client.query<{ name: string; checksum: string }>(
      `SELECT name, checksum FROM public.sys_plugin_migrations
        WHERE plugin_id = $1 AND scope = $2 AND tenant_id IS NOT DISTINCT FROM $3`,
      [plugin.meta.id, target.scope, tenantId]);
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const done: string[] = [];
    for (const file of files) {
      const recorded = applied.get(file.name);
      if (recorded !== undefined) {
        if (recorded !== file.checksum) {
          throw new SandboxStartError(
            `Migration ${target.scope}/${file.name} of plugin "${plugin.meta.id}" was changed after it ran in ${where} ` +
            `(recorded sha256 ${recorded.slice(0, 12)}…, file now ${file.checksum.slice(0, 12)}…). ` +
            'Restore the file and put the change in a new, higher-numbered migration.',
          );
        }
        continue;
      }
      try {
        await client.query(file.sql);
      } catch (error) {
        throw new SandboxStartError(
          `Migration ${target.scope}/${file.name} of plugin "${plugin.meta.id}" failed in ${where}: ${(error as Error).message}. Nothing of this plugin's pending migrations was applied there.`,
          { cause: error },
        );
      }
      await client.query(
        `INSERT INTO public.sys_plugin_migrations (plugin_id, scope, tenant_id, name, version, checksum)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [plugin.meta.id, target.scope, tenantId, file.name, plugin.meta.version, file.checksum]);
      done.push(file.name);
    }
    return done;
  }, target.tenant);
}
