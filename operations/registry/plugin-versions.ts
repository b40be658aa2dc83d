/**
 * The one rule every writer of the plugin registries keeps: a module folder older than the
 * version a database records is never written over it. An older copy of a module (another
 * checkout, a stale branch) would otherwise set `version_installed` back over a schema that is
 * further on, and drop the permissions the newer version added. The sandbox's start, `plugins
 * enable` and the migration runner's version flip all ask here.
 */
import semver from 'semver';
import type pg from 'pg';

/** What is asked about: a module as read from its folder. */
export interface ModuleVersion {
  id: string;
  version: string;
  /** Its folder, named in the refusal. */
  dir?: string;
}

export class PluginDowngradeError extends Error {
  override name = 'PluginDowngradeError';
  constructor(readonly module: ModuleVersion, readonly installed: string) {
    super(`Plugin "${module.id}" is installed at ${installed}, newer than the module folder's ${module.version}${module.dir ? ` (${module.dir})` : ''}: nothing done. ` +
      `Use the module folder of the installed version (${installed}) or a newer one.`);
  }
}

/** Whether `installed` is a later version than `given` (placeholders such as a missing version never are). */
export function isNewerVersion(installed: string, given: string): boolean {
  return semver.valid(installed) !== null && semver.valid(given) !== null && semver.gt(installed, given);
}

/**
 * The highest version the registries record for the plugin (its own, and each tenant's) when it
 * is newer than `version`; undefined when none is. The registries' tables must exist.
 */
export async function newerInstalledVersion(db: pg.Pool | pg.ClientBase, { id, version }: ModuleVersion): Promise<string | undefined> {
  const { rows } = await db.query<{ version: string }>(
    `SELECT version_installed AS version FROM public.sys_plugins WHERE plugin_id = $1
     UNION SELECT version_installed FROM public.sys_tenant_plugins WHERE plugin_id = $1`, [id]);
  return rows.map((r) => r.version).filter((v) => isNewerVersion(v, version)).sort(semver.rcompare)[0];
}

/** Throws `PluginDowngradeError` when the database records a newer version of the module than the one given. */
export async function refuseDowngrade(db: pg.Pool | pg.ClientBase, module: ModuleVersion): Promise<void> {
  const installed = await newerInstalledVersion(db, module);
  if (installed !== undefined) throw new PluginDowngradeError(module, installed);
}
