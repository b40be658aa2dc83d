/**
 * Schema-per-tenant. Tenants are rows of `public.sys_tenant`; each has its own schema, named in
 * that row and never taken from a request. This is the only file that sets `search_path`.
 */
import { drizzle, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { schemaNameProblem } from '../rules/index.ts';
import type { TenantDb, TenantInfo } from './contract.ts';
import { HttpError } from './errors.ts';

/** `name` when it is a valid tenant schema name (see rules/tenant.ts), else a throw naming the rule. */
export function assertSchemaName(name: string): string {
  const problem = schemaNameProblem(name);
  if (problem) throw new Error(`Invalid tenant schema name ${JSON.stringify(name)}: it ${problem}.`);
  return name;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Runs `run` inside one transaction whose `search_path` is `schema, public`. BEGIN and the
 * SET LOCAL go in one round trip; the setting ends with the transaction, so a pooled connection
 * never carries a tenant's path to the next user. Rolls back on throw; always releases.
 */
export async function inSchemaTransaction<T>(pool: pg.Pool, schema: string, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN; SET LOCAL search_path TO ${quoteIdent(assertSchemaName(schema))}, public`);
    const result = await run(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error; // the connection is unusable: destroy it, don't pool it
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Drizzle bound to the tenant transaction's connection. Its `transaction()` nests as a SAVEPOINT:
 * Drizzle's own would send BEGIN/COMMIT on the same connection, ending the tenant transaction
 * (and its search_path) early.
 */
function tenantDb(client: pg.PoolClient): TenantDb {
  const db = drizzle(client);
  // dialect and session are Drizzle internals, the same ones it hands its own transactions.
  const { dialect, session } = db as unknown as { dialect: never; session: never };
  const outer = new NodePgTransaction<Record<string, never>, never>(dialect, session, undefined, 0);
  db.transaction = ((nested: (tx: unknown) => Promise<unknown>) => outer.transaction(nested)) as TenantDb['transaction'];
  return db;
}

export interface TenancyOptions {
  pool: pg.Pool;
}

export interface Tenancy {
  /** Finds a tenant by id (uuid) or code; undefined when there is none. */
  find(idOrCode: string): Promise<TenantInfo | undefined>;
  /** Like `find`, but a missing tenant is a 400 `UNKNOWN_TENANT` naming it. */
  get(idOrCode: string): Promise<TenantInfo>;
  resolve(query: { domain?: string; code?: string }): Promise<TenantInfo | null>;
  list(): Promise<TenantInfo[]>;
  withTenantTx<T>(tenantIdOrCode: string, run: (db: TenantDb) => Promise<T>): Promise<T>;
  /** Forget cached tenants (after creating or dropping one). */
  invalidate(): void;
}

const TENANT_COLUMNS = 'id::text AS id, code, name, domain, schema_name AS schema';

export function createTenancy({ pool }: TenancyOptions): Tenancy {
  const byKey = new Map<string, TenantInfo>();

  function remember(tenant: TenantInfo): TenantInfo {
    assertSchemaName(tenant.schema);
    byKey.set(tenant.id, tenant);
    byKey.set(tenant.code, tenant);
    return tenant;
  }

  async function find(idOrCode: string): Promise<TenantInfo | undefined> {
    const cached = byKey.get(idOrCode);
    if (cached) return cached;
    const { rows } = await pool.query<TenantInfo>(
      `SELECT ${TENANT_COLUMNS} FROM public.sys_tenant WHERE code = $1 OR id::text = $1`, [idOrCode]);
    return rows[0] && remember(rows[0]);
  }

  async function get(idOrCode: string): Promise<TenantInfo> {
    const tenant = await find(idOrCode);
    if (tenant) return tenant;
    const known = (await list()).map((t) => t.code).join(', ') || 'none';
    throw new HttpError(400, 'UNKNOWN_TENANT', `Tenant ${JSON.stringify(idOrCode)} does not exist. Known tenants: ${known}.`, { tenant: idOrCode });
  }

  async function list(): Promise<TenantInfo[]> {
    const { rows } = await pool.query<TenantInfo>(`SELECT ${TENANT_COLUMNS} FROM public.sys_tenant ORDER BY code`);
    return rows.map(remember);
  }

  async function resolve({ domain, code }: { domain?: string; code?: string }): Promise<TenantInfo | null> {
    if (code) return (await find(code)) ?? null;
    if (!domain) return null;
    const { rows } = await pool.query<TenantInfo>(`SELECT ${TENANT_COLUMNS} FROM public.sys_tenant WHERE domain = $1`, [domain.toLowerCase()]);
    return rows[0] ? remember(rows[0]) : null;
  }

  async function withTenantTx<T>(tenantIdOrCode: string, run: (db: TenantDb) => Promise<T>): Promise<T> {
    const tenant = await get(tenantIdOrCode);
    return inSchemaTransaction(pool, tenant.schema, (client) => run(tenantDb(client)));
  }

  return { find, get, resolve, list, withTenantTx, invalidate: () => byKey.clear() };
}
