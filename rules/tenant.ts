/**
 * Tenant codes, tenant schema names and the keys a request may name a tenant by. A tenant is
 * named either by its id (a uuid) or by its code, and the two must never be confusable: a code
 * may not be anything PostgreSQL would read as a uuid.
 */

/** A uuid in its canonical text form (what `id::text` gives). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const CODE = /^[a-z][a-z0-9-]{0,39}$/;

/** Why `code` is not a valid tenant code, or undefined when it is. */
export function tenantCodeProblem(code: unknown): string | undefined {
  if (typeof code !== 'string') return 'must be a string';
  if (!CODE.test(code)) return 'must be 1–40 characters: lowercase letters, digits and -, starting with a letter (e.g. "acme")';
  // PostgreSQL reads 32 hex digits, with or without dashes, as a uuid: such a code could pass for an id.
  if (/^[0-9a-f]{32}$/.test(code.replaceAll('-', ''))) return 'must not look like a uuid (tenants are also looked up by id)';
  return undefined;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const RESERVED_SCHEMAS = new Set(['public', 'information_schema']);

/** Why `name` is not a valid tenant schema name, or undefined when it is. */
export function schemaNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (!SCHEMA.test(name)) return 'must be lowercase letters, digits and _, start with a letter or _, and be at most 63 characters';
  if (name.startsWith('pg_') || RESERVED_SCHEMAS.has(name)) return 'is reserved by PostgreSQL or the host (pg_…, public, information_schema)';
  return undefined;
}

/** The default schema of a tenant: `tenant_<code>` with `-` as `_`. */
export function defaultSchemaName(code: string): string {
  return `tenant_${code.replaceAll('-', '_')}`;
}

/** What a caller named a tenant by. */
export type TenantKey = { id: string } | { code: string };

/**
 * Reads a tenant reference from outside (a header, a token claim, a command argument): a uuid is
 * an id, anything else must be a valid code. Undefined when it can be neither.
 */
export function tenantKey(value: string): TenantKey | undefined {
  if (isUuid(value)) return { id: value.toLowerCase() };
  return tenantCodeProblem(value) ? undefined : { code: value };
}
