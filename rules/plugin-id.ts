/**
 * What a plugin (module) id may look like. The id becomes a URL segment, a permission namespace,
 * a folder name and (with `-` as `_`) part of SQL and TS identifiers, so it is kept narrow.
 */

/** Ids that would collide with host routes or system names. */
export const RESERVED_PLUGIN_IDS: ReadonlySet<string> = new Set([
  'api', 'app', 'admin', 'assets', 'auth', 'health', 'plugins', 'public', 'sandbox', 'static', 'sys', 'system', 'tenant', 'tenants',
]);

const KEBAB_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Why `id` is not a valid plugin id, or undefined when it is. */
export function pluginIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length < 2 || id.length > 40) return `must be 2–40 characters long (got ${id.length})`;
  if (!KEBAB_ID.test(id)) return 'must be lowercase kebab-case: letters, digits and single dashes, starting with a letter (e.g. "stock-ledger")';
  if (RESERVED_PLUGIN_IDS.has(id) || id.startsWith('pg') || id.startsWith('sys-')) {
    return `is reserved by the host (reserved: ${[...RESERVED_PLUGIN_IDS].join(', ')}, pg…, sys-…)`;
  }
  return undefined;
}
