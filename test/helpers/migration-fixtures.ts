/**
 * What the migration runner's tests work on: minimal modules (a `plugin/index.ts` with its meta,
 * and the migration files a test needs), tenants made in bulk, and a snapshot of the database's
 * catalog and data taken with SQL (the embedded server ships no pg_dump).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ensureSystemSchemaLocked } from '../../sandbox/data/system-schema.ts';
import { readModuleMigrations, type ModuleMigrations } from '../../operations/migrations/plan.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../../testing/databases.ts';
import { TEST_MODULES } from './examples.ts';

/** A module folder holding only what the runner reads: `files` maps `tenant/001_x.sql` (etc.) to SQL. */
export function fixtureModule(id: string, files: Record<string, string>, version = '1.0.0'): string {
  fs.mkdirSync(TEST_MODULES, { recursive: true });
  const dir = fs.mkdtempSync(path.join(TEST_MODULES, `fm-migrate-${id}-`));
  fs.mkdirSync(path.join(dir, 'plugin'));
  fs.writeFileSync(path.join(dir, 'plugin', 'index.ts'), `export default {\n  meta: { id: '${id}', version: '${version}', api: '1.x' },\n  async register() {},\n};\n`);
  writeMigrations(dir, files);
  return dir;
}

export function writeMigrations(dir: string, files: Record<string, string>): void {
  for (const [file, sql] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, 'migrations', path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'migrations', file), sql);
  }
}

export const modulesOf = (...dirs: string[]): ModuleMigrations[] => dirs.map(readModuleMigrations);

export interface MigrationDb {
  database: ThrowawayDatabase;
  pool: pg.Pool;
  sql<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** A throw-away database with the system tables (no dev data) and `tenants` tenants `t0001…`. */
export async function migrationDb(serverUrl: string, tenants = 0, { max = 8 } = {}): Promise<MigrationDb> {
  const database = await createThrowawayDatabase(serverUrl);
  const pool = new pg.Pool({ connectionString: database.url, max });
  pool.on('error', () => {});
  await ensureSystemSchemaLocked(pool);
  if (tenants > 0) await addTenants(pool, 1, tenants);
  return {
    database, pool,
    sql: async (text, params) => (await pool.query(text, params)).rows,
    close: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

/** Tenants `t<from>`…`t<to>` (codes zero-padded to four digits), each with its schema. */
export async function addTenants(pool: pg.Pool, from: number, to: number): Promise<void> {
  await pool.query(
    `INSERT INTO sys_tenant (code, name, schema_name)
     SELECT 't' || lpad(g::text, 4, '0'), 'Tenant ' || g, 'tenant_t' || lpad(g::text, 4, '0') FROM generate_series($1::int, $2::int) g`, [from, to]);
  await pool.query(`DO $$ DECLARE s text; BEGIN
    FOR s IN SELECT schema_name FROM sys_tenant WHERE schema_name NOT IN (SELECT nspname FROM pg_namespace) LOOP
      EXECUTE format('CREATE SCHEMA %I', s);
    END LOOP; END $$`);
}

/**
 * Everything a migration could change: every relation, column, constraint and index outside the
 * system catalogs, and a hash of every table's rows. Equal snapshots: nothing was written.
 */
export async function catalogSnapshot(pool: pg.Pool): Promise<Record<string, unknown>> {
  const { rows: relations } = await pool.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2`);
  const { rows: columns } = await pool.query(
    `SELECT table_schema, table_name, column_name, data_type, column_default, is_nullable FROM information_schema.columns
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, ordinal_position`);
  const { rows: definitions } = await pool.query(
    `SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')
     UNION ALL SELECT indexrelid::regclass::text, '', pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2, 3`);
  const { rows: schemas } = await pool.query(`SELECT nspname FROM pg_namespace ORDER BY 1`);
  const data: Record<string, string> = {};
  for (const r of relations.filter((x) => x.kind === 'r')) {
    const { rows } = await pool.query<{ hash: string }>(`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS hash FROM "${r.schema}"."${r.name}" t`);
    data[`${r.schema}.${r.name}`] = rows[0]!.hash;
  }
  return { schemas, relations, columns, definitions, data };
}

/** A pool that counts the queries sent through it (pool.query and its clients' query), and keeps their text. */
export function countingPool(pool: pg.Pool): { pool: pg.Pool; count: () => number; texts: string[] } {
  let count = 0;
  const texts: string[] = [];
  const record = (args: unknown[]) => {
    count += 1;
    const first = args[0] as string | { text?: string };
    texts.push(typeof first === 'string' ? first : first?.text ?? '');
  };
  const wrapQuery = <T extends { query: (...args: never[]) => unknown }>(target: T): T =>
    new Proxy(target, {
      get(object, key, receiver) {
        if (key === 'query') return (...args: never[]) => { record(args); return object.query(...args); };
        const value = Reflect.get(object, key, receiver);
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
  const counted = new Proxy(pool, {
    get(object, key, receiver) {
      if (key === 'query') return (...args: never[]) => { record(args); return (object.query as (...a: never[]) => unknown)(...args); };
      if (key === 'connect') return async () => wrapQuery(await object.connect());
      const value = Reflect.get(object, key, receiver);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
  return { pool: counted, count: () => count, texts };
}
