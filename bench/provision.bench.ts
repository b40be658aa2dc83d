/**
 * Provisioning tenants through the tenant service and the migration runner (what `tenants create`
 * runs) against the floor: the same work as one plain `psql` script (INSERT the rows, then per
 * tenant CREATE SCHEMA and the migration's DDL), on the PostgreSQL at BENCH_DATABASE_URL (default:
 * the server on 127.0.0.1:5432), in the same run. Prints service + runner / floor.
 *
 *   npm run bench                          # 1,000 tenants
 *   BENCH_TENANTS=10000 npm run bench      # 10,000 tenants (or: node --import tsx bench/provision.bench.ts --tenants 10000)
 *
 * Target (issue 16): provisioning ≤ 2× the floor.
 */
import fs from 'node:fs';
import pg from 'pg';
import { ensureSystemSchemaLocked } from '../sandbox/data/system-schema.ts';
import { createTenants, DEFAULT_TENANT_BATCH } from '../sandbox/data/tenants.ts';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { DEFAULT_CONCURRENCY, runMigrations } from '../operations/migrations/runner.ts';
import { createThrowawayDatabase } from '../testing/databases.ts';
import { benchModule } from './bench-module.ts';
import { psqlAvailable, timePsqlScript } from './psql-floor.ts';

const args = process.argv.slice(2);
const TENANTS = Number(args[args.indexOf('--tenants') + 1] ?? 0) || Number(process.env.BENCH_TENANTS ?? 1000);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_CONCURRENCY);
const BATCH = Number(process.env.BENCH_BATCH ?? DEFAULT_TENANT_BATCH);
/** The migration every tenant gets: two statements, as the benchmark asks. */
const MIGRATION = 'CREATE TABLE bench_items (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX bench_items_created_at_idx ON bench_items (created_at);\n';
const CODES = Array.from({ length: TENANTS }, (_, i) => `t${i + 1}`);

if (!psqlAvailable()) {
  console.log('provision bench: skipped, psql is not installed (it sends the floor script).');
  process.exit(0);
}

const moduleDir = benchModule('fm-bench-provision-', MIGRATION);

/** A database with the system tables and the bench plugin installed and on: nothing timed yet. */
async function prepared(): Promise<{ url: string; drop: () => Promise<unknown> }> {
  const db = await createThrowawayDatabase(SERVER);
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  await ensureSystemSchemaLocked(pool);
  await pool.query(`INSERT INTO sys_plugins (plugin_id, api_version, version_installed, enabled_global) VALUES ('bench', '1.x', '1.0.0', true)`);
  await pool.end();
  return db;
}

function floor(url: string): number {
  const lines = [`INSERT INTO sys_tenant (code, name, schema_name) SELECT 't' || g, 'T' || g, 'tenant_t' || g FROM generate_series(1, ${TENANTS}) g;`];
  for (let i = 1; i <= TENANTS; i += 1) lines.push(`CREATE SCHEMA tenant_t${i};`, `SET search_path TO tenant_t${i}, public;`, MIGRATION);
  return timePsqlScript(url, lines);
}

try {
  console.log(`Provisioning ${TENANTS} tenants: rows, schemas and one 2-statement tenant migration, against ${SERVER.replace(/\/\/[^@]*@/, '//')}`);
  const base = await prepared();
  const floorSeconds = floor(base.url);
  await base.drop();

  const db = await prepared();
  const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY + 2 });
  pool.on('error', () => {}); // sessions ended by the drop below
  const modules = [readModuleMigrations(moduleDir)];
  const started = performance.now();
  const created = await createTenants({ pool, tenants: CODES.map((code) => ({ code })), batch: BATCH });
  const createdSeconds = (performance.now() - started) / 1000;
  const report = await runMigrations({ pool, modules, tenants: CODES, concurrency: CONCURRENCY });
  const totalSeconds = (performance.now() - started) / 1000;
  if (created.some((t) => t.state !== 'created')) throw new Error(`a tenant was not created: ${JSON.stringify(created.find((t) => t.state !== 'created'))}`);
  if (report.exitCode !== 0) throw new Error(`the runner failed: ${JSON.stringify(report.results.find((r) => r.outcome.state !== 'done')?.outcome)}`);
  const { rows: [ledger] } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sys_plugin_migrations');
  if (ledger!.n !== TENANTS) throw new Error(`expected ${TENANTS} ledger rows, found ${ledger!.n}`);
  await pool.end();
  await db.drop();

  const row = (label: string, seconds: number, note = '') => console.log(`  ${label.padEnd(48)}${seconds.toFixed(2).padStart(7)} s${note}`);
  row('floor: one psql script, one connection', floorSeconds);
  row(`service: rows + schemas, ${BATCH} per transaction`, createdSeconds);
  row(`service + runner, concurrency ${CONCURRENCY}`, totalSeconds, `   (runner / floor ${(totalSeconds / floorSeconds).toFixed(2)}x, target ≤ 2x)`);
} finally {
  fs.rmSync(moduleDir, { recursive: true, force: true });
}
