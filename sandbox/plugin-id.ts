/**
 * What a plugin id and a permission may look like. The id becomes a URL segment, a permission
 * namespace and (with `-` as `_`) part of SQL and TS identifiers, so it is kept narrow.
 */

/** Ids that would collide with host routes or system names. */
export const RESERVED_IDS = new Set(['api', 'app', 'admin', 'assets', 'auth', 'health', 'plugins', 'public', 'sandbox', 'static', 'sys', 'system', 'tenant', 'tenants']);

const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Why `id` is not a valid plugin id, or undefined when it is. */
export function pluginIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length < 2 || id.length > 40) return `must be 2–40 characters long (got ${id.length})`;
  if (!ID.test(id)) return 'must be lowercase kebab-case: letters, digits and single dashes, starting with a letter (e.g. "stock-ledger")';
  if (RESERVED_IDS.has(id) || id.startsWith('pg') || id.startsWith('sys-')) return `is reserved by the host (reserved: ${[...RESERVED_IDS].join(', ')}, pg…, sys-…)`;
  return undefined;
}

const PERMISSION_TAIL = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/** Why `permission` is not a permission of plugin `id`, or undefined when it is. */
export function permissionProblem(id: string, permission: unknown): string | undefined {
  if (typeof permission !== 'string') return 'must be a string';
  if (!permission.startsWith(`${id}.`)) return `must be namespaced by the plugin id: "${id}.<resource>.<action>"`;
  if (!PERMISSION_TAIL.test(permission.slice(id.length + 1))) return 'must be dot-separated lowercase words after the id (e.g. "items.read")';
  return undefined;
}
