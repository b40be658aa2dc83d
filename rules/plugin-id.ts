/**
 * What a plugin (module) id may look like. The id becomes a URL segment, a permission namespace,
 * a folder name and (with `-` as `_`) part of SQL and TS identifiers, so it is kept narrow.
 */

import { kebabNameProblem } from './kebab-name.ts';

/** Ids that would collide with host routes or system names. */
export const RESERVED_PLUGIN_IDS: ReadonlySet<string> = new Set([
  'api', 'app', 'admin', 'assets', 'auth', 'health', 'plugins', 'public', 'sandbox', 'static', 'sys', 'system', 'tenant', 'tenants',
]);

/** Why `id` is not a valid plugin id, or undefined when it is. */
export function pluginIdProblem(id: unknown): string | undefined {
  const shape = kebabNameProblem(id, { examples: '"stock-ledger"' });
  if (shape || typeof id !== 'string') return shape;
  if (RESERVED_PLUGIN_IDS.has(id) || id.startsWith('pg') || id.startsWith('sys-')) {
    return `is reserved by the host (reserved: ${[...RESERVED_PLUGIN_IDS].join(', ')}, pg…, sys-…)`;
  }
  return undefined;
}
