/**
 * What the host costs per HTTP request: the items list (20 rows of one tenant) served three ways,
 * under the same load (autocannon in a process of its own, 16 connections), in one run on the
 * PostgreSQL at TEST_DATABASE_URL (default 127.0.0.1:5432):
 *
 *   plain  bare Express + pg: the SELECT on the pool;
 *   tx     bare Express + pg: BEGIN and SET LOCAL search_path (one round trip), the SELECT, COMMIT;
 *   orm    bare Express + pg, the same transaction around the items plugin's own Drizzle query;
 *   full   the sandbox: identity (a signed bearer token), the enablement gate, RBAC, withTenantTx
 *          and the items plugin's Drizzle query.
 *
 * The tx floor is what any schema-per-tenant host must pay; full/tx is what this host adds to it.
 * full/orm leaves out what the plugin's ORM costs (Drizzle, and pg's extended protocol that it
 * uses): the host's own share.
 *
 *   npm run bench            BENCH_SECONDS=10 BENCH_ROUNDS=3 for steadier figures
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import pg from 'pg';
import { desc } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { items } from '../examples/items/shared/schema.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase } from '../testing/databases.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 16;
/** The sandbox's default pool size: the bare servers get the same. */
const POOL_MAX = 10;
const ITEMS = path.resolve(import.meta.dirname, '../examples/items');
const AUTOCANNON = path.resolve(import.meta.dirname, '../node_modules/autocannon/autocannon.js');
/** What the items plugin's list sends, with the schema named (plain) or from search_path (tx). */
const LIST = (from: string) => `SELECT id, name, description, created_at, updated_at FROM ${from} ORDER BY created_at DESC, id DESC`;

interface Load { requestsPerSecond: number; p99: number; non2xx: number; errors: number; total: number }
/** A run's load, and the CPU this process (the server: the load generator has its own) spent per request. */
interface Measured extends Load { cpuPerRequestUs: number }

/** autocannon as a child process: in this one it would share the event loop it measures. */
function autocannon(url: string, seconds: number, headers: Record<string, string>): Promise<Load> {
  const args = [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', '-n',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]), url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const result = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p99: number }; non2xx: number; errors: number };
      resolve({ requestsPerSecond: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, total: result.requests.total });
    });
  });
}

async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The items plugin's list query, as it sends it, in the bare transaction. */
function ormApp(pool: pg.Pool): express.Express {
  const app = express();
  app.get('/items', async (_req, res) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL search_path TO tenant_dev, public');
      const rows = await drizzle(client).select().from(items).orderBy(desc(items.createdAt), desc(items.id));
      await client.query('COMMIT');
      res.json({ data: rows });
    } finally {
      client.release();
    }
  });
  return app;
}

function bareApp(pool: pg.Pool, inTransaction: boolean): express.Express {
  const app = express();
  app.get('/items', async (_req, res) => {
    if (!inTransaction) return void res.json({ data: (await pool.query(LIST('tenant_dev.items_items'))).rows });
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL search_path TO tenant_dev, public');
      const { rows } = await client.query(LIST('items_items'));
      await client.query('COMMIT');
      res.json({ data: rows });
    } finally {
      client.release();
    }
  });
  return app;
}

const db = await createThrowawayDatabase(SERVER_URL);
const sandbox = await createSandbox({ moduleDirs: [ITEMS], databaseUrl: db.url, maxConnections: POOL_MAX, logger: createLogger({ level: 'silent' }) });
const pool = new pg.Pool({ connectionString: db.url, max: POOL_MAX });
// An idle connection ended by the server (a restart, a dropped database) must not crash the bench.
pool.on('error', () => {});
try {
  await pool.query(`INSERT INTO tenant_dev.items_items (name, description) SELECT 'Item ' || g, 'Row ' || g FROM generate_series(1, 20) g`);
  const token = await sandbox.identity.signDevToken({ user: 'admin@sandbox.dev', tenant: 'dev' });
  const targets = [
    { name: 'plain', label: 'plain  Express + pg, SELECT', server: await listen(bareApp(pool, false)), path: '/items', headers: {} },
    { name: 'tx', label: 'tx     Express + pg, BEGIN; SET LOCAL; SELECT; COMMIT', server: await listen(bareApp(pool, true)), path: '/items', headers: {} },
    { name: 'orm', label: 'orm    Express + pg, the same tx, the plugin\'s Drizzle query', server: await listen(ormApp(pool)), path: '/items', headers: {} },
    { name: 'full', label: 'full   sandbox, bearer token, GET items', server: await listen(sandbox.app), path: '/api/plugins/items/items', headers: { Authorization: `Bearer ${token}` } },
  ] as const;
  const best = new Map<string, Measured>();
  console.log(`GET of 20 items, ${CONNECTIONS} connections, pool of ${POOL_MAX}, ${SECONDS} s per run (after ${WARM_UP_SECONDS} s of warm-up), best of ${ROUNDS}, on ${new URL(SERVER_URL).host}`);
  for (const target of targets) await autocannon(target.server.url + target.path, WARM_UP_SECONDS, target.headers);
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const cpu = process.cpuUsage();
      const load = await autocannon(target.server.url + target.path, SECONDS, target.headers);
      const { user, system } = process.cpuUsage(cpu);
      if (load.non2xx > 0 || load.errors > 0) throw new Error(`${target.name}: ${load.non2xx} non-2xx answers and ${load.errors} errors`);
      const measured = { ...load, cpuPerRequestUs: (user + system) / load.total };
      if (load.requestsPerSecond > (best.get(target.name)?.requestsPerSecond ?? 0)) best.set(target.name, measured);
    }
  }
  for (const target of targets) {
    const { requestsPerSecond, p99, cpuPerRequestUs } = best.get(target.name)!;
    console.log(`  ${target.label.padEnd(52)} ${requestsPerSecond.toFixed(0).padStart(6)} req/s   p99 ${String(p99).padStart(3)} ms   server CPU ${cpuPerRequestUs.toFixed(0).padStart(4)} µs/request`);
  }
  const rate = (name: string) => best.get(name)!.requestsPerSecond;
  console.log(`  full/plain ${(rate('full') / rate('plain')).toFixed(2)} (target ≥ 0.60)   full/tx ${(rate('full') / rate('tx')).toFixed(2)} (target ≥ 0.90)   full/orm ${(rate('full') / rate('orm')).toFixed(2)} (the host's own share)`);
  for (const target of targets) await target.server.close();
} finally {
  await pool.end();
  await sandbox.close();
  await db.drop();
}
