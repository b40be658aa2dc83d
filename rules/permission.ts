/**
 * What a permission may look like: `<plugin id>.<resource>.<action>`, each part a lowercase word,
 * e.g. `inventory.items.read` (more dot-separated words are allowed: `inventory.items.price.update`).
 * Namespaced by the plugin id so that no module can declare or require another's permissions.
 */

const RESOURCE_ACTION = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/;
const MAX_LENGTH = 120;

/** Why `permission` is not a permission of plugin `pluginId`, or undefined when it is. */
export function permissionProblem(pluginId: string, permission: unknown): string | undefined {
  if (typeof permission !== 'string') return 'must be a string';
  if (!permission.startsWith(`${pluginId}.`)) return `must be namespaced by the plugin id: "${pluginId}.<resource>.<action>"`;
  if (permission.length > MAX_LENGTH) return `must be at most ${MAX_LENGTH} characters long (got ${permission.length})`;
  if (!RESOURCE_ACTION.test(permission.slice(pluginId.length + 1))) {
    return `must be <resource>.<action> after the id: lowercase words joined by dots, each starting with a letter (e.g. "${pluginId}.items.read")`;
  }
  return undefined;
}
