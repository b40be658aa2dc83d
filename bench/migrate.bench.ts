/**
 * The migration runner against the floor: the same DDL for the same tenants sent as one plain
 * `psql` script, on the PostgreSQL at BENCH_DATABASE_URL (default: the server on 127.0.0.1:5432),
 * in the same run. Prints runner / floor for migrating, and the time of a no-op re-run.
 *
 *   npm run bench                          # 1,000 tenants
 *   BENCH_TENANTS=10000 npm run bench      # 10,000 tenants (or: node --import tsx bench/migrate.bench.ts --tenants 10000)
 *
 * Targets (issue 16): migrate ≤ 1.5× the floor; a no-op over 10,000 tenants < 1 s.
 */
import fs from 'node:fs';
import pg from 'pg';
import { ensureSystemSchemaLocked } from '../sandbox/data/system-schema.ts';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { DEFAULT_CONCURRENCY, runMigrations } from '../operations/migrations/runner.ts';
import { createThrowawayDatabase } from '../testing/databases.ts';
import { benchModule } from './bench-module.ts';
import { psqlAvailable, timePsqlScript } from './psql-floor.ts';

const args = process.argv.slice(2);
const TENANTS = Number(args[args.indexOf('--tenants') + 1] ?? 0) || Number(process.env.BENCH_TENANTS ?? 1000);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_CONCURRENCY);
/** The migration every tenant gets: two statements, as the benchmark asks. */
const MIGRATION = 'CREATE TABLE bench_items (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX bench_items_created_at_idx ON bench_items (created_at);\n';

if (!psqlAvailable()) {
  console.log('migrate bench: skipped, psql is not installed (it sends the floor script).');
  process.exit(0);
}

const moduleDir = benchModule('fm-bench-module-', MIGRATION);

/** A database with the system tables and TENANTS tenants (rows and empty schemas), made by SQL. */
async function provisioned(): Promise<{ url: string; drop: () => Promise<unknown>; seconds: number }> {
  const db = await createThrowawayDatabase(SERVER);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const started = performance.now();
  await ensureSystemSchemaLocked(pool);
  await pool.query(`INSERT INTO sys_tenant (code, name, schema_name) SELECT 't' || g, 'Tenant ' || g, 'tenant_t' || g FROM generate_series(1, $1::int) g`, [TENANTS]);
  await pool.query(`DO $$ DECLARE s text; BEGIN FOR s IN SELECT schema_name FROM sys_tenant LOOP EXECUTE format('CREATE SCHEMA %I', s); END LOOP; END $$`);
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  return { url: db.url, drop: db.drop, seconds };
}

function floor(url: string): number {
  const lines: string[] = [];
  for (let i = 1; i <= TENANTS; i += 1) lines.push(`SET search_path TO tenant_t${i}, public;`, MIGRATION);
  return timePsqlScript(url, lines);
}

try {
  console.log(`Migrating ${TENANTS} tenants: one 2-statement tenant migration, against ${SERVER.replace(/\/\/[^@]*@/, '//')}`);
  const base = await provisioned();
  const floorSeconds = floor(base.url);
  await base.drop();

  const db = await provisioned();
  const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY + 2 });
  const modules = [readModuleMigrations(moduleDir)];
  let started = performance.now();
  const report = await runMigrations({ pool, modules, concurrency: CONCURRENCY });
  const runnerSeconds = (performance.now() - started) / 1000;
  if (report.exitCode !== 0) throw new Error(`the runner failed: ${JSON.stringify(report.results.find((r) => r.outcome.state !== 'done')?.outcome)}`);
  started = performance.now();
  const noop = await runMigrations({ pool, modules, concurrency: CONCURRENCY });
  const noopSeconds = (performance.now() - started) / 1000;
  await pool.end();
  await db.drop();

  console.log(`  provisioning by SQL (rows + schemas)         ${db.seconds.toFixed(2).padStart(7)} s`);
  console.log(`  floor: one psql script, one connection        ${floorSeconds.toFixed(2).padStart(7)} s`);
  console.log(`  runner: migrate up, concurrency ${String(CONCURRENCY).padEnd(14)}${runnerSeconds.toFixed(2).padStart(7)} s   (runner / floor ${(runnerSeconds / floorSeconds).toFixed(2)}x, target ≤ 1.5x)`);
  console.log(`  no-op re-run (${noop.plan.upToDate} targets up to date)${' '.repeat(Math.max(1, 15 - String(noop.plan.upToDate).length))}${noopSeconds.toFixed(3).padStart(7)} s   (target < 1 s at 10,000 tenants)`);
} finally {
  fs.rmSync(moduleDir, { recursive: true, force: true });
}
