/**
 * Applies what is pending of a module's migrations to one target (public, or one tenant schema),
 * each file recorded in `sys_plugin_migrations` with the sha256 of its text. A recorded file whose
 * text changed is refused, never re-run.
 */
import type pg from 'pg';
import type { TenantInfo } from '../contract.ts';
import { inSchemaTransaction } from '../data/tenancy.ts';
import { SandboxStartError } from '../errors.ts';
import type { LoadedPlugin } from '../plugins/loader.ts';
import type { MigrationFile, MigrationScope } from './files.ts';

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
