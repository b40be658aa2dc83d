/**
 * How deep configuration may nest, and what a reader does with a stored value deeper than that.
 * Writes through the command refuse such a value (config-admin.ts); one written with SQL is still
 * read, and copying or checking it recursively would overflow the stack of every reader, so a key
 * holding one is left out, as if not set, and named for the warning.
 */
import { isPlainObject } from '../../sandbox/plugins/config-schema.ts';

/** Deeper than this is no configuration a person writes, and costs every reader a deep walk. */
export const MAX_CONFIG_DEPTH = 32;

/**
 * Whether `value`, itself at `depth` (a top-level key's value is at 1), holds anything deeper
 * than MAX_CONFIG_DEPTH. Walked with a list of its own, not recursion, and never past the limit.
 */
export function nestsTooDeep(value: unknown, depth = 1): boolean {
  const pending: [unknown, number][] = [[value, depth]];
  while (pending.length > 0) {
    const [node, at] = pending.pop()!;
    if (at > MAX_CONFIG_DEPTH) return true;
    if (node !== null && typeof node === 'object') for (const child of Object.values(node)) pending.push([child, at + 1]);
  }
  return false;
}

export interface ReadableConfig {
  /** The stored object without its too-deep keys; {} when what is stored is no object. */
  config: Record<string, unknown>;
  /** The keys left out, in stored order. */
  tooDeep: string[];
}

/** The stored configuration as readers may use it: every key but those nesting deeper than MAX_CONFIG_DEPTH. */
export function readableConfig(stored: unknown): ReadableConfig {
  if (!isPlainObject(stored)) return { config: {}, tooDeep: [] };
  const tooDeep = Object.keys(stored).filter((key) => nestsTooDeep(stored[key]));
  if (tooDeep.length === 0) return { config: stored, tooDeep };
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    // defineProperty: a stored `__proto__` key stays a key, as JSON.parse made it.
    if (!tooDeep.includes(key)) Object.defineProperty(config, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { config, tooDeep };
}

/** The command that removes `key` from a plugin's configuration, global or a tenant's: the way out a refusal names. */
export const unsetCommand = (pluginId: string, tenantCode: string | undefined, key: string) =>
  `foundation-module plugins config ${pluginId}${tenantCode === undefined ? '' : ` --tenant ${tenantCode}`} unset ${key}`;
