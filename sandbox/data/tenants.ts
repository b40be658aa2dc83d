/**
 * Tenants: the `sys_tenant` row and the tenant's own schema, created, listed and dropped here only
 * (the CLI, the dev data and the benchmarks call this file; none writes `sys_tenant` itself).
 * Codes and schema names go through the shared rules (rules/tenant.ts) before any SQL, so a code
 * can never look like an id, and a schema name reaches SQL only validated and quoted. Every write
 * sends a `tenants` change notice in its own transaction: running sandboxes refresh on its commit.
 */
import type pg from 'pg';
import { defaultSchemaName, schemaNameProblem, tenantCodeProblem } from '../../rules/index.ts';
import { beginStatement } from './connection-mode.ts';
import { ensureSystemSchemaLocked } from './system-schema.ts';
import { assertSchemaName, quoteIdent } from './sql-identifiers.ts';

export interface NewTenant {
  code: string;
  /** @default from the code: `acme-corp` is "Acme Corp" */
  name?: string;
  /** The host name that resolves to this tenant; stored in lowercase. @default none */
  domain?: string | null;
  /** @default `tenant_<code>` with `-` as `_` */
  schema?: string;
}

/** A NewTenant with its defaults applied and every field checked. */
export interface CheckedTenant {
  code: string;
  name: string;
  domain: string | null;
  schema: string;
}

/** Why `name` can't be a tenant's display name, or undefined when it can. */
export function tenantNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be empty';
  if (name !== name.trim()) return 'must not start or end with spaces';
  if (name.length > 200) return 'must be at most 200 characters';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'must not contain control characters';
  return undefined;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `domain` is not a host name (RFC 1123; compared in lowercase), or undefined when it is. */
export function domainProblem(domain: string): string | undefined {
  const host = domain.toLowerCase();
  if (host.length === 0 || host.length > 253) return 'must be a host name of 1–253 characters';
  // A browser sends a Unicode host in its xn-- form: storing the other form would never match.
  if (/[^\x00-\x7f]/.test(host)) return 'must be written in ASCII (a Unicode name in its punycode xn--… form)';
  const labels = host.split('.');
  if (!labels.every((label) => LABEL.test(label))) return 'must be a host name: dot-separated labels of letters, digits and -, each 1–63 characters, not starting or ending with - (no scheme, port, path or trailing dot)';
  if (/^\d+$/.test(labels.at(-1)!)) return 'must be a host name, not an IP address';
  return undefined;
}

/** "Acme Corp" for `acme-corp`. */
export function defaultTenantName(code: string): string {
  return code.split('-').filter(Boolean).map((word) => word[0]!.toUpperCase() + word.slice(1)).join(' ');
}

/** `tenant` with its defaults, or a throw naming the first field that breaks its rule. */
export function checkTenant(tenant: NewTenant): CheckedTenant {
  const problem = (what: string, value: unknown, why: string | undefined) => {
    if (why) throw new TenantInputError(`Tenant ${what} ${JSON.stringify(value)} ${why}.`);
  };
  problem('code', tenant.code, tenantCodeProblem(tenant.code));
  const name = tenant.name ?? defaultTenantName(tenant.code);
  problem('name', name, tenantNameProblem(name));
  if (tenant.domain != null) problem('domain', tenant.domain, domainProblem(tenant.domain));
  const schema = tenant.schema ?? defaultSchemaName(tenant.code);
  problem('schema name', schema, schemaNameProblem(schema));
  return { code: tenant.code, name, domain: tenant.domain?.toLowerCase() ?? null, schema };
}

export class TenantInputError extends Error {
  override name = 'TenantInputError';
}

/**
 * Creates the tenant row and its schema if missing, inside the caller's transaction (the
 * bootstrap's); returns the tenant id. A tenant that exists is left as it is, its schema restored.
 */
export async function ensureTenant(client: pg.ClientBase, tenant: NewTenant): Promise<string> {
  const { code, name, domain, schema } = checkTenant(tenant);
  await client.query(
    `INSERT INTO public.sys_tenant (code, name, domain, schema_name) VALUES ($1, $2, $3, $4)
     ON CONFLICT (code) DO NOTHING`,
    [code, name, domain, schema]);
  const { rows } = await client.query<{ id: string; schema_name: string }>(
    'SELECT id::text AS id, schema_name FROM public.sys_tenant WHERE code = $1', [code]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(assertSchemaName(rows[0]!.schema_name))}`);
  return rows[0]!.id;
}

export interface TenantCreation extends CheckedTenant {
  /** `exists`: a tenant with this code was there already; it is reported as it is, never changed. */
  state: 'created' | 'exists' | 'failed';
  /** null when it failed */
  id: string | null;
  schemaExists: boolean;
  /** Why it failed. */
  error?: string;
}

export interface CreateTenantsOptions {
  /** Yours: never closed here. One connection is used at a time. */
  pool: pg.Pool;
  /** Created in this order; codes must be unique. */
  tenants: NewTenant[];
  /** Tenants per transaction: their rows, schemas and change notice commit together. @default 100 */
  batch?: number;
  /** Start no new batch once aborted (the one in flight commits); the tenants left are not returned. */
  signal?: AbortSignal;
  /** Each tenant's outcome, as soon as its batch has committed. */
  onTenant?: (result: TenantCreation) => void;
}

export const DEFAULT_TENANT_BATCH = 100;

/**
 * Creates tenants in batches; a tenant whose code exists is reported `exists`, so a run cut short
 * (even by SIGKILL: a batch commits whole or not at all) is finished by running it again.
 */
export async function createTenants({ pool, tenants, batch = DEFAULT_TENANT_BATCH, signal, onTenant }: CreateTenantsOptions): Promise<TenantCreation[]> {
  const checked = tenants.map(checkTenant);
  const seen = new Set<string>();
  const twice = checked.find((t) => seen.size === seen.add(t.code).size);
  if (twice) throw new TenantInputError(`Tenant code "${twice.code}" is given twice.`);
  await ensureSystemSchemaLocked(pool);
  const results: TenantCreation[] = [];
  for (let i = 0; i < checked.length && !signal?.aborted; i += batch) {
    const done = await createBatch(pool, checked.slice(i, i + batch));
    done.forEach((result) => onTenant?.(result));
    results.push(...done);
  }
  return results;
}

async function createBatch(pool: pg.Pool, tenants: CheckedTenant[]): Promise<TenantCreation[]> {
  const results = new Map<string, TenantCreation>();
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    for (const row of await existingTenants(client, tenants.map((t) => t.code))) results.set(row.code, { ...row, state: 'exists' });
    // A schema that exists with no tenant row was not made by a run of ours (rows and schemas
    // commit together): adopting it could hand someone else's tables to the new tenant.
    const wanted = tenants.filter((t) => !results.has(t.code));
    const { rows: orphans } = await client.query<{ nspname: string }>('SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[])', [wanted.map((t) => t.schema)]);
    for (const t of wanted.filter((w) => orphans.some((o) => o.nspname === w.schema))) {
      results.set(t.code, failed(t, `schema "${t.schema}" already exists and belongs to no tenant: drop it (or rename it) first, or give this tenant another code`));
    }
    const fresh = wanted.filter((t) => !results.has(t.code));
    if (fresh.length > 0) {
      try {
        await client.query(beginStatement(client));
        for (const result of await insertBatch(client, fresh)) results.set(result.code, result);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        // Only a refusal about these tenants' data fails them; a lost server stops the whole run.
        const sqlState = (error as { code?: unknown }).code;
        if (broken || typeof sqlState !== 'string' || !/^(23|42)/.test(sqlState)) throw error;
        for (const t of fresh) results.set(t.code, failed(t, `${(error as Error).message} (the ${fresh.length} new tenant(s) of this batch were not created)`));
      }
    }
  } finally {
    client.release(broken);
  }
  return tenants.map((t) => results.get(t.code)!);
}

/** Inside the batch's transaction: rows, schemas, change notice. */
async function insertBatch(client: pg.PoolClient, fresh: CheckedTenant[]): Promise<TenantCreation[]> {
  // No conflict target: a code created meanwhile by someone else, or a schema or domain already
  // used by another tenant, skips that row instead of failing the whole batch.
  const { rows: inserted } = await client.query<{ id: string; code: string }>(
    `INSERT INTO public.sys_tenant (code, name, domain, schema_name)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING RETURNING id::text AS id, code`,
    [fresh.map((t) => t.code), fresh.map((t) => t.name), fresh.map((t) => t.domain), fresh.map((t) => t.schema)]);
  const ids = new Map(inserted.map((r) => [r.code, r.id]));
  const results: TenantCreation[] = [];
  for (const t of fresh.filter((f) => ids.has(f.code))) {
    await client.query(`CREATE SCHEMA ${quoteIdent(assertSchemaName(t.schema))}`);
    results.push({ ...t, state: 'created', id: ids.get(t.code)!, schemaExists: true });
  }
  const skipped = fresh.filter((f) => !ids.has(f.code));
  if (skipped.length > 0) {
    const raced = await existingTenants(client, skipped.map((t) => t.code));
    const { rows: owners } = await client.query<{ code: string; schema_name: string; domain: string | null }>(
      'SELECT code, schema_name, domain FROM public.sys_tenant WHERE schema_name = ANY($1::text[]) OR domain = ANY($2::text[])',
      [skipped.map((t) => t.schema), skipped.flatMap((t) => (t.domain ? [t.domain] : []))]);
    for (const t of skipped) {
      const exists = raced.find((r) => r.code === t.code);
      if (exists) results.push({ ...exists, state: 'exists' });
      else {
        const owner = owners.find((o) => o.schema_name === t.schema || (t.domain !== null && o.domain === t.domain));
        const what = owner?.schema_name === t.schema ? `schema "${t.schema}"` : `domain "${t.domain}"`;
        results.push(failed(t, `${what} already belongs to tenant "${owner?.code ?? '?'}"`));
      }
    }
  }
  return results;
}

const failed = (t: CheckedTenant, error: string): TenantCreation => ({ ...t, state: 'failed', id: null, schemaExists: false, error });

async function existingTenants(db: pg.ClientBase, codes: string[]): Promise<Omit<TenantCreation, 'state'>[]> {
  const { rows } = await db.query<Omit<TenantCreation, 'state'>>(
    `SELECT t.id::text AS id, t.code, t.name, t.domain, t.schema_name AS schema,
            EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = t.schema_name) AS "schemaExists"
       FROM public.sys_tenant t WHERE t.code = ANY($1::text[])`, [codes]);
  return rows;
}

export interface TenantListing {
  code: string;
  id: string;
  name: string;
  domain: string | null;
  schema: string;
  schemaExists: boolean;
  /** Plugins on for this tenant: enabled for it and not switched off globally. */
  pluginsEnabled: number;
  createdAt: string;
}

/** Every tenant by code; none when the system tables were never created (nothing is written). */
export async function listTenants(db: pg.Pool | pg.ClientBase): Promise<TenantListing[]> {
  const { rows: [table] } = await db.query<{ exists: boolean }>(`SELECT to_regclass('public.sys_tenant') IS NOT NULL AS exists`);
  if (!table?.exists) return [];
  const { rows } = await db.query<TenantListing>(
    `SELECT t.code, t.id::text AS id, t.name, t.domain, t.schema_name AS schema,
            EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = t.schema_name) AS "schemaExists",
            (SELECT count(*)::int FROM public.sys_tenant_plugins tp JOIN public.sys_plugins p ON p.plugin_id = tp.plugin_id
              WHERE tp.tenant_id = t.id AND tp.enabled AND p.enabled_global) AS "pluginsEnabled",
            to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt"
       FROM public.sys_tenant t ORDER BY t.code`);
  return rows;
}

export interface DropTenantOptions {
  /** Yours: never closed here. */
  pool: pg.Pool;
  code: string;
  /** The same code again: the guard against dropping the wrong tenant. */
  confirm: string;
  /** How long to wait for the tenant's tables (a request or a migration using them). @default 10000 */
  lockTimeoutMs?: number;
}

export interface DroppedTenant {
  id: string;
  code: string;
  schema: string;
  /** False when the schema was already gone. */
  schemaExisted: boolean;
}

/**
 * Drops the tenant's schema with everything in it, then its row (and by the foreign keys its
 * roles, enablement and ledger rows), in one transaction. undefined when there is no such tenant.
 */
export async function dropTenant({ pool, code, confirm, lockTimeoutMs = 10_000 }: DropTenantOptions): Promise<DroppedTenant | undefined> {
  const codeProblem = tenantCodeProblem(code);
  if (codeProblem) throw new TenantInputError(`Tenant code ${JSON.stringify(code)} ${codeProblem}.`);
  if (confirm !== code) throw new TenantInputError(`Dropping tenant "${code}" needs its code again as confirmation, and ${JSON.stringify(confirm)} is not it: nothing was dropped.`);
  await ensureSystemSchemaLocked(pool);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(beginStatement(client));
    try {
      await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
      // No row lock first: a migration holds the tenant's tables, then key-shares this row for its
      // ledger row; taking the tables first (DROP SCHEMA) waits for it instead of deadlocking.
      const { rows: [tenant] } = await client.query<{ id: string; schema: string; exists: boolean }>(
        `SELECT t.id::text AS id, t.schema_name AS schema, EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = t.schema_name) AS exists
           FROM public.sys_tenant t WHERE t.code = $1`, [code]);
      if (!tenant) {
        await client.query('ROLLBACK');
        return undefined;
      }
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(assertSchemaName(tenant.schema))} CASCADE`);
      const { rowCount } = await client.query('DELETE FROM public.sys_tenant WHERE id = $1', [tenant.id]);
      if (rowCount === 0) {
        // Dropped meanwhile by someone else.
        await client.query('ROLLBACK');
        return undefined;
      }
      // Quarantine is kept by schema name, which a tenant created later with this code gets again.
      await client.query('DELETE FROM public.sys_migration_quarantine WHERE schema_name = $1', [tenant.schema]);
      await client.query('COMMIT');
      return { id: tenant.id, code, schema: tenant.schema, schemaExisted: tenant.exists };
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    }
  } finally {
    client.release(broken);
  }
}
