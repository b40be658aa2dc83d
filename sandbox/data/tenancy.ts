/**
 * Schema-per-tenant. Tenants are rows of `public.sys_tenant`; each has its own schema, named in
 * that row and never taken from a request. This is the only file that sets `search_path`.
 *
 * A tenant is named by its id (a uuid) or its code, and lookups always say which: a code can't
 * look like a uuid (rules/tenant.ts, and a CHECK on the table), so one can never reach another.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { drizzle, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { isUuid, tenantCodeProblem, tenantKey, type TenantKey } from '../../rules/index.ts';
import type { TenantDb, TenantInfo } from '../contract.ts';
import { DomainError } from '../errors.ts';
import { createBoundedCache, type CacheStats } from '../access/bounded-cache.ts';
import { beginStatement } from './connection-mode.ts';
import { assertSchemaName, quoteIdent } from './sql-identifiers.ts';

/** The open tenant transaction (or savepoint) of the current async call, if any (see `currentConnection`). */
interface OpenTransaction {
  client: pg.PoolClient;
  tenant: TenantInfo;
  db: TenantDb;
  /** False once committed or rolled back: callbacks that outlive the transaction must not use it. */
  open: boolean;
  /** Work to do once the outermost transaction has committed (`afterTenantCommit`). */
  afterCommit: (() => Promise<void>)[];
}

const openTransaction = new AsyncLocalStorage<OpenTransaction>();

/** The tenant of the transaction the caller is inside, if any. */
export function currentTenantId(): string | undefined {
  const tx = openTransaction.getStore();
  return tx?.open ? tx.tenant.id : undefined;
}

/**
 * Queues `work` to run once the tenant transaction the caller is inside has committed; it is
 * dropped if that transaction, or the savepoint it was queued in, rolls back. False (nothing
 * queued) outside a transaction. Events emitted in a transaction wait for its commit this way.
 */
export function afterTenantCommit(work: () => Promise<void>): boolean {
  const tx = openTransaction.getStore();
  if (!tx?.open) return false;
  tx.afterCommit.push(work);
  return true;
}

/**
 * Where a host capability should send its query: the connection of the tenant transaction the
 * caller is inside, else the pool. A capability that took a second pooled connection while the
 * caller holds one deadlocks as soon as every pool slot is held by such a caller.
 */
export function currentConnection(pool: pg.Pool): pg.Pool | pg.PoolClient {
  const tx = openTransaction.getStore();
  return tx?.open ? tx.client : pool;
}

/**
 * Runs `run` inside one transaction whose `search_path` is `schema, public`. BEGIN, the SET LOCAL
 * and a check of `current_schema()` go in one round trip: the setting ends with the transaction,
 * so a pooled connection never carries a tenant's path to the next user, and a schema that does
 * not exist (PostgreSQL then silently falls through to `public`) fails before anything runs.
 * The check costs no round trip of its own, only a statement: measured against the same round
 * trip without it, about 30 µs of server time per transaction; folding the SET into it
 * (`SELECT set_config(…)`, one statement fewer) was no faster. Rolls back on throw; always releases.
 */
export async function inSchemaTransaction<T>(
  pool: pg.Pool, schema: string, run: (client: pg.PoolClient) => Promise<T>, tenant?: Pick<TenantInfo, 'id' | 'code'>,
): Promise<T> {
  const quoted = quoteIdent(schema === 'public' ? schema : assertSchemaName(schema));
  const client = await connect(pool);
  // The server may end the session while it sits idle in the transaction (idle_in_transaction_
  // session_timeout): pg then emits 'error' on the checked-out client, which would crash the process.
  let lost: Error | undefined;
  const onLost = (error: Error) => (lost = error);
  client.on('error', onLost);
  let broken: Error | undefined;
  try {
    const results = await client.query(`${beginStatement(client)}; SET LOCAL search_path TO ${quoted}, public; SELECT current_schema() AS schema`) as unknown as pg.QueryResult[];
    if (results.at(-1)?.rows[0]?.schema !== schema) throw schemaMissing(schema, tenant);
    const result = await run(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = lost ?? (rollbackError as Error); // the connection is unusable: destroy it, don't pool it
    }
    throw error;
  } finally {
    client.removeListener('error', onLost);
    client.release(broken ?? lost);
  }
}

function schemaMissing(schema: string, tenant: Pick<TenantInfo, 'id' | 'code'> | undefined): DomainError {
  const who = tenant ? `Tenant "${tenant.code}"` : 'This transaction';
  return new DomainError('TENANT_SCHEMA_MISSING',
    `${who} cannot be used: its schema "${schema}" does not exist in the database. Restore the schema, or remove the tenant; nothing was run, so nothing landed in public.`,
    { tenantId: tenant?.id, schema });
}

/** pool.connect(), with the pool's acquire timeout turned into a DomainError the edges understand. */
export async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw isAcquireTimeout(error)
      ? new DomainError('DATABASE_BUSY', 'Every database connection is in use and none came free in time; try again shortly.', {}, { cause: error })
      : error;
  }
}

/** The errors pg-pool gives when `connectionTimeoutMillis` passes before a connection is free or made. */
export function isAcquireTimeout(error: unknown): boolean {
  const message = (error as Error | undefined)?.message;
  return message === 'timeout exceeded when trying to connect' || message === 'Connection terminated due to connection timeout';
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
  /**
   * Name a few known tenant codes when a reference names none: a help in development, an
   * enumeration of customers for anyone who asks in production. @default true
   */
  hintKnownTenants?: boolean;
  /** Most cache entries (a tenant takes one per key it was reached by: id, code, domain). @default 30000 */
  cacheMaxEntries?: number;
}

/** At most this many codes in an UNKNOWN_TENANT hint: the message stays short with 10,000 tenants. */
const HINTED_TENANTS = 10;
/** RFC 1035: a host name is at most 253 characters. */
const MAX_DOMAIN_LENGTH = 253;

export interface Tenancy {
  findById(id: string): Promise<TenantInfo | undefined>;
  findByCode(code: string): Promise<TenantInfo | undefined>;
  /**
   * The tenant a reference from outside names (a header, a token, an argument): a uuid is looked
   * up as an id, anything else as a code. Throws `UNKNOWN_TENANT` naming it when there is none.
   */
  get(reference: string): Promise<TenantInfo>;
  /** The tenant `reference` names if it is cached, else undefined (ask `get`). Sync: the warm path of a request. */
  cached(reference: string): TenantInfo | undefined;
  /** The tenant with `domain` if cached, null if cached as nobody's, undefined when not cached (ask `resolve`). */
  cachedDomain(domain: string): TenantInfo | null | undefined;
  /** By code, or by domain (compared in lower case; a domain no tenant has is remembered too, as the Host header asks it per request). */
  resolve(query: { domain?: string; code?: string }): Promise<TenantInfo | null>;
  list(): Promise<TenantInfo[]>;
  /**
   * Runs `run` in one transaction on the tenant's schema. Inside another transaction of the same
   * tenant it nests as a savepoint on the same connection; inside another tenant's, it is refused.
   */
  withTenantTx<T>(tenantReference: string, run: (db: TenantDb) => Promise<T>): Promise<T>;
  /**
   * Forget cached tenants (after creating, renaming or dropping one): those named by id, or all.
   * Either way, domains remembered as nobody's are forgotten: the change may have given one out.
   */
  invalidate(tenantIds?: readonly string[]): void;
  /** The tenant cache's counters, for metrics. */
  stats(): CacheStats;
}

const TENANT_COLUMNS = 'id::text AS id, code, name, domain, schema_name AS schema';

export function createTenancy({ pool, hintKnownTenants = true, cacheMaxEntries = 30_000 }: TenancyOptions): Tenancy {
  /** Keys `id:<uuid>`, `code:<code>`, `domain:<host>`; null: a domain no tenant has. */
  const cache = createBoundedCache<TenantInfo | null>({ maxEntries: cacheMaxEntries });

  /** The keys a row is reached by besides the one asked. A code written before the rule existed that looks like a uuid can't be reached by code. */
  const keysOf = (tenant: TenantInfo | null): string[] =>
    !tenant ? [] : tenantCodeProblem(tenant.code) ? [`id:${tenant.id}`] : [`id:${tenant.id}`, `code:${tenant.code}`];

  async function lookup(column: 'id' | 'code' | 'domain', value: string): Promise<TenantInfo | undefined> {
    const where = column === 'id' ? 'id = $1::uuid' : column === 'code' ? 'code = $1' : 'domain = $1';
    const { rows } = await currentConnection(pool).query<TenantInfo>(`SELECT ${TENANT_COLUMNS} FROM public.sys_tenant WHERE ${where}`, [value]);
    if (rows[0]) assertSchemaName(rows[0].schema);
    return rows[0];
  }

  const lookupOf = (key: TenantKey) => ('id' in key ? ['id', key.id] as const : ['code', key.code] as const);

  async function find(key: TenantKey): Promise<TenantInfo | undefined> {
    const [column, value] = lookupOf(key);
    return (await cache.get(`${column}:${value}`, () => lookup(column, value), keysOf)) ?? undefined;
  }

  function cached(reference: string): TenantInfo | undefined {
    const key = typeof reference === 'string' ? tenantKey(reference) : undefined;
    if (!key) return undefined;
    const [column, value] = lookupOf(key);
    return cache.peek(`${column}:${value}`) ?? undefined;
  }

  async function get(reference: string): Promise<TenantInfo> {
    const key = typeof reference === 'string' ? tenantKey(reference) : undefined;
    const tenant = key && (await find(key));
    if (tenant) return tenant;
    const what = key ? 'does not exist' : 'is neither a tenant id (uuid) nor a tenant code';
    throw new DomainError('UNKNOWN_TENANT', `Tenant ${JSON.stringify(reference)} ${what}.${hintKnownTenants ? await knownTenantsHint() : ''}`, { tenant: reference });
  }

  async function knownTenantsHint(): Promise<string> {
    const { rows } = await currentConnection(pool).query<{ code: string }>('SELECT code FROM public.sys_tenant ORDER BY code LIMIT $1', [HINTED_TENANTS + 1]);
    const codes = rows.slice(0, HINTED_TENANTS).map((r) => r.code);
    return ` Known tenants: ${codes.join(', ') || 'none'}${rows.length > HINTED_TENANTS ? ', …' : ''}.`;
  }

  async function list(): Promise<TenantInfo[]> {
    let tenants: TenantInfo[] = [];
    await cache.storeAll(async () => {
      tenants = (await currentConnection(pool).query<TenantInfo>(`SELECT ${TENANT_COLUMNS} FROM public.sys_tenant ORDER BY code`)).rows;
      for (const tenant of tenants) assertSchemaName(tenant.schema);
      return tenants.flatMap((tenant) => keysOf(tenant).map((key): [string, TenantInfo] => [key, tenant]));
    });
    return tenants;
  }

  async function resolve({ domain, code }: { domain?: string; code?: string }): Promise<TenantInfo | null> {
    if (code !== undefined) return (typeof code === 'string' && !tenantCodeProblem(code) && (await find({ code }))) || null;
    if (typeof domain !== 'string' || domain.length === 0 || domain.length > MAX_DOMAIN_LENGTH || /[\s\x00-\x1f\x7f]/.test(domain)) return null;
    const lower = domain.toLowerCase();
    return (await cache.get(`domain:${lower}`, async () => (await lookup('domain', lower)) ?? null, keysOf)) ?? null;
  }

  function cachedDomain(domain: string): TenantInfo | null | undefined {
    return typeof domain === 'string' ? cache.peek(`domain:${domain.toLowerCase()}`) : undefined;
  }

  async function withTenantTx<T>(tenantReference: string, run: (db: TenantDb) => Promise<T>): Promise<T> {
    const tenant = cached(tenantReference) ?? await get(tenantReference);
    const outer = openTransaction.getStore();
    if (outer?.open) {
      if (outer.tenant.id !== tenant.id) {
        throw new Error(`withTenantTx("${tenant.code}") was called inside a transaction of tenant "${outer.tenant.code}". ` +
          'One transaction works in one tenant: finish the first before starting the other.');
      }
      // A savepoint: whether its queued work happens is the enclosing transaction's commit to decide.
      const savepoint: OpenTransaction = { ...outer, afterCommit: [] };
      try {
        const result = await openTransaction.run(savepoint, () => outer.db.transaction((tx) => run(tx as unknown as TenantDb)));
        outer.afterCommit.push(...savepoint.afterCommit);
        return result;
      } finally {
        savepoint.open = false;
      }
    }
    const tx: OpenTransaction = { client: undefined as unknown as pg.PoolClient, tenant, db: undefined as unknown as TenantDb, open: true, afterCommit: [] };
    const result = await inSchemaTransaction(pool, tenant.schema, async (client) => {
      tx.client = client;
      tx.db = tenantDb(client);
      try {
        return await openTransaction.run(tx, () => run(tx.db));
      } finally {
        tx.open = false;
      }
    }, tenant);
    // Committed: what waited for it runs now, outside it (its own queries take their own connections).
    for (const work of tx.afterCommit) await work();
    return result;
  }

  return {
    findById: async (id) => (typeof id === 'string' && isUuid(id) ? find({ id: id.toLowerCase() }) : undefined),
    findByCode: async (code) => (tenantCodeProblem(code) ? undefined : find({ code })),
    get, cached, resolve, cachedDomain, list, withTenantTx,
    invalidate: (tenantIds) => {
      if (!tenantIds) return cache.invalidate();
      const ids = new Set(tenantIds.map((id) => id.toLowerCase()));
      // By the cached row's id, not by key: a renamed tenant is cached under its old code.
      cache.invalidate((tenant) => tenant === null || ids.has(tenant.id));
    },
    stats: () => cache.stats(),
  };
}
