/**
 * What a plugin configuration key may look like: a property name of the module's config schema,
 * such as `pageSize` or `smtp_host`. Narrow because a key travels as a command-line argument and a
 * JSON property: nothing that needs quoting, no NUL, and never `__proto__`, which a plain object
 * would read as its prototype.
 */

const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
const MAX_LENGTH = 64;

/** Why `key` is not a configuration key, or undefined when it is one. */
export function configKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `must be a string (got ${key === null ? 'null' : typeof key})`;
  if (key.length === 0 || key.length > MAX_LENGTH) return `must be 1–${MAX_LENGTH} characters long (got ${key.length})`;
  if (!KEY.test(key)) return 'must be a letter followed by letters, digits, "_" or "-" (e.g. "pageSize")';
  return undefined;
}
