/**
 * What schema-per-tenant costs per request: `withTenantTx` (tenant lookup from cache, BEGIN +
 * SET LOCAL search_path in one round trip, a Drizzle instance, COMMIT) against the baseline of a
 * plain BEGIN / SELECT / COMMIT on the same pool and server, in the same run. Also the embedded
 * server's start-up: a fresh cluster (initdb) against a restart of an existing one.
 *
 *   npm run bench
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { startEmbeddedPostgres } from '../sandbox/embedded-postgres/cluster.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase } from '../testing/databases.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const ITEMS = path.resolve(import.meta.dirname, '../examples/items');

async function time(label: string, rounds: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, rounds); i++) await run(); // warm up connections and JIT
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await run();
  const perOp = (performance.now() - start) / rounds;
  console.log(`  ${label.padEnd(44)} ${(perOp * 1000).toFixed(0).padStart(6)} µs/op`);
  return perOp;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-bench-'));
fs.chmodSync(tmp, 0o755);
try {
  console.log('Embedded PostgreSQL start-up');
  let t0 = performance.now();
  const cluster = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), database: 'postgres' });
  const fresh = performance.now() - t0;
  await cluster.stop();
  t0 = performance.now();
  const server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), database: 'postgres' });
  const restart = performance.now() - t0;
  console.log(`  fresh cluster (initdb + start)   ${fresh.toFixed(0)} ms`);
  console.log(`  restart of an existing cluster   ${restart.toFixed(0)} ms   (fresh/restart ratio ${(fresh / restart).toFixed(1)}x)`);

  const db = await createThrowawayDatabase(server.url);
  const sandbox = await createSandbox({ moduleDirs: [ITEMS], databaseUrl: db.url, logger: createLogger({ level: 'silent' }) });
  const { pool } = sandbox.database;
  const { id: tenantId } = await sandbox.tenancy.get('dev');
  console.log(`\nOne transaction with one SELECT, ${ROUNDS} rounds, one connection at a time`);
  const baseline = await time('baseline: BEGIN; SELECT; COMMIT (pool)', ROUNDS, async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT count(*) FROM tenant_dev.items_items');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  });
  const tenant = await time('withTenantTx + Drizzle SELECT', ROUNDS, () =>
    sandbox.tenancy.withTenantTx(tenantId, (tx) => tx.execute(sql`SELECT count(*) FROM items_items`)));
  console.log(`  ratio withTenantTx / baseline: ${(tenant / baseline).toFixed(2)}x`);

  await sandbox.close();
  await db.drop();
  await server.stop();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
