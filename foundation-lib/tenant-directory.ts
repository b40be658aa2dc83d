/**
 * Where a foundation keeps its tenants: its own table, named in the bindings file
 * (`src/lib/foundation-module/bindings.ts`) as a plain literal:
 *
 *   export const tenantTable = { table: 'public.org_tenants', id: 'id', code: 'slug', schema: 'schema_name', domain: 'hostname' };
 *
 * The bindings hand it to the registries at run time; the kit's operator commands, which run no
 * TypeScript of the foundation's, read the same literal from the file's text. So both see the
 * same tenants, and the maintainer edits one file.
 *
 * The kit's registries (`sys_tenant_plugins`, the migration ledger) key tenants by uuid. A
 * foundation's id that is a uuid is used as it is; any other id (an integer, a text key) maps to a
 * uuid derived from it (md5), the same on every run. A tenant code the kit's rules refuse
 * (uppercase, `_`, too long, none at all) is made into one (`t-` and the id, or the code cleaned).
 *
 * No imports but Node's: this file is vendored into foundations as it is.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface TenantDirectory {
  /** The tenant table, `schema.table` or `table` (in `public`). */
  table: string;
  /** Column holding the tenant's id, as the foundation's auth and `withTenantTx` use it. */
  id: string;
  /** Column holding a short code (slug); without one, codes are made from the ids. */
  code?: string;
  /** Column holding the name of the tenant's PostgreSQL schema. */
  schema: string;
  /** Column holding the tenant's host name, for `resolveTenant({ domain })`. */
  domain?: string;
}

export const BINDINGS_FILE_NAME = 'bindings.ts';

/** The seeds' own tenant table, which is also the kit's: nothing to map. */
export const KIT_TENANT_TABLE: TenantDirectory = { table: 'public.sys_tenant', id: 'id', code: 'code', schema: 'schema_name', domain: 'domain' };

/** Lowercase SQL identifiers only: they are quoted, but a name that needs quoting is a typo here. */
const IDENTIFIER = /^[a-z_][a-z0-9_$]{0,62}$/;
const FIELDS = ['table', 'id', 'code', 'schema', 'domain'] as const;

export class TenantDirectoryError extends Error {
  override name = 'TenantDirectoryError';
}

const EXAMPLE = "export const tenantTable = { table: 'public.sys_tenant', id: 'id', code: 'code', schema: 'schema_name', domain: 'domain' };";

/**
 * The `tenantTable` literal of a bindings file's text. Plain on purpose: string values only, no
 * expressions, because the operator commands read it without running the file.
 */
export function tenantDirectoryFromBindings(text: string, file: string): TenantDirectory {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  const declarations = [...code.matchAll(/export\s+const\s+tenantTable\b[^=]*=\s*\{([^}]*)\}/g)];
  if (declarations.length !== 1) {
    throw new TenantDirectoryError(`${file} must declare the foundation's tenant table once, as a plain literal the operator commands can read: ${EXAMPLE}`);
  }
  const given: Record<string, unknown> = {};
  for (const entry of declarations[0]![1]!.split(',').map((part) => part.trim()).filter(Boolean)) {
    const pair = /^([A-Za-z_$][\w$]*|'[^']*'|"[^"]*")\s*:\s*(?:'([^'\\]*)'|"([^"\\]*)")$/.exec(entry);
    if (!pair) throw new TenantDirectoryError(`${file}: tenantTable entry ${JSON.stringify(entry)} is not \`name: 'value'\`. Write the tenant table as plain strings: ${EXAMPLE}`);
    given[pair[1]!.replace(/^['"]|['"]$/g, '')] = pair[2] ?? pair[3];
  }
  return checkTenantDirectory(given, `${file}: tenantTable`);
}

/** A tenant table as given (the bindings' literal, or the object at run time), checked: every problem names the field. */
export function checkTenantDirectory(raw: unknown, where: string): TenantDirectory {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TenantDirectoryError(`${where} must be an object, e.g. ${EXAMPLE}`);
  const given = raw as Record<string, unknown>;
  const file = where;
  const unknown = Object.keys(given).filter((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new TenantDirectoryError(`${file}: unknown field "${unknown[0]}" (fields: ${FIELDS.join(', ')}).`);
  const field = (name: (typeof FIELDS)[number], required: boolean): string | undefined => {
    const value = given[name];
    if (value === undefined || value === null) {
      if (required) throw new TenantDirectoryError(`${file}: "${name}" is required: the column (or, for "table", the table) of the foundation's tenants.`);
      return undefined;
    }
    const parts = typeof value === 'string' ? value.split('.') : [];
    const ok = typeof value === 'string' && (name === 'table' ? parts.length <= 2 : parts.length === 1) && parts.every((part) => IDENTIFIER.test(part));
    if (!ok) {
      throw new TenantDirectoryError(`${file}: "${name}" is ${JSON.stringify(value)}; it must be ${name === 'table' ? 'a table name, `schema.table` or `table`,' : 'a column name'} in lowercase letters, digits and _.`);
    }
    return value as string;
  };
  const table = field('table', true)!;
  return {
    table: table.includes('.') ? table : `public.${table}`,
    id: field('id', true)!, code: field('code', false), schema: field('schema', true)!, domain: field('domain', false),
  };
}

/** The tenant table of the foundation whose bindings live in `libDir`, read from the bindings file's text. */
export function readTenantDirectory(libDir: string): TenantDirectory {
  const file = path.join(libDir, BINDINGS_FILE_NAME);
  if (!fs.existsSync(file)) throw new TenantDirectoryError(`${file} is missing: run foundation-module vendor <module> --into <foundation root>, which writes it, then fill it in.`);
  return tenantDirectoryFromBindings(fs.readFileSync(file, 'utf8'), file);
}

export function isKitTenantTable(directory: TenantDirectory): boolean {
  return FIELDS.every((name) => directory[name] === KIT_TENANT_TABLE[name]);
}

const quote = (name: string) => `"${name}"`;
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** SQL for the kit's uuid of a foundation's tenant id (`expression` is text). */
export function kitTenantIdSql(expression: string): string {
  return `(CASE WHEN ${expression} ~* '${UUID_PATTERN}' THEN (${expression})::uuid ELSE md5('foundation-tenant:' || ${expression})::uuid END)`;
}

/**
 * A query of the foundation's tenants as the kit sees them: `id` (uuid), `code`, `schema_name`,
 * `domain`, and `foundation_id` (the id as the foundation has it, as text). Tenants whose schema
 * name the kit would not put in SQL are left out: `unusableTenantsSql` lists them.
 */
export function tenantRowsSql(directory: TenantDirectory): string {
  if (isKitTenantTable(directory)) return 'SELECT id, code, schema_name, domain, id::text AS foundation_id FROM public.sys_tenant';
  return `SELECT ${kitTenantIdSql('src.foundation_id')} AS id, ${CODE_SQL} AS code, src.schema_name, src.domain, src.foundation_id
  FROM (${sourceSql(directory)}) src WHERE ${USABLE_SQL}`;
}

/** The foundation's tenants that `tenantRowsSql` leaves out, with their schema names (for a warning). */
export function unusableTenantsSql(directory: TenantDirectory): string {
  return `SELECT src.foundation_id, src.schema_name FROM (${sourceSql(directory)}) src WHERE NOT (${USABLE_SQL})`;
}

function sourceSql(directory: TenantDirectory): string {
  const [schema, table] = directory.table.split('.') as [string, string];
  const column = (name: string | undefined) => (name ? `t.${quote(name)}::text` : 'NULL::text');
  return `SELECT ${column(directory.id)} AS foundation_id, ${column(directory.code)} AS given_code, ${column(directory.schema)} AS schema_name,
    ${column(directory.domain)} AS domain FROM ${quote(schema)}.${quote(table)} t`;
}

// The kit's own rules (rules/): tenant codes and schema names it accepts.
const USABLE_SQL = `src.foundation_id IS NOT NULL AND src.schema_name ~ '^[a-z_][a-z0-9_]{0,62}$' AND src.schema_name !~ '^pg_'
  AND src.schema_name NOT IN ('public', 'information_schema')`;
// A code that reads as a uuid is refused too: the kit also looks tenants up by id.
const CODE_SQL = `(CASE WHEN src.given_code ~ '^[a-z][a-z0-9-]{0,39}$' AND replace(src.given_code, '-', '') !~ '^[0-9a-f]{32}$' THEN src.given_code
  ELSE left('t-' || trim(BOTH '-' FROM regexp_replace(lower(coalesce(src.given_code, src.foundation_id)), '[^a-z0-9]+', '-', 'g')), 40) END)`;
