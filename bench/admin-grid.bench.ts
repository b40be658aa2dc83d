/**
 * The admin API's plugins × tenants page at BENCH_TENANTS tenants (default 10,000), through HTTP
 * (the admin router on Express, as the sandbox mounts it), beside the floor measured in the same
 * run: one plain `SELECT … FROM sys_tenant ORDER BY code LIMIT 100` on the same database. Pages:
 * the first, one in the middle (keyset cursor), and the filtered ones an operator asks for most
 * (a state, a migration state, a search). Prints the median of 20 and its ratio to the floor.
 *
 *   npm run bench
 *   node --import tsx bench/admin-grid.bench.ts
 *
 * Target (issue 27): a page in under 100 ms at 10,000 tenants.
 */
import express from 'express';
import pg from 'pg';
import supertest from 'supertest';
import { adminRouter } from '../admin/router.ts';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { ensureSystemSchemaLocked } from '../sandbox/data/system-schema.ts';
import { createThrowawayDatabase } from '../testing/databases.ts';
import { benchModule } from './bench-module.ts';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 10_000);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = 20;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function timed(work: () => Promise<unknown>): Promise<number> {
  await work(); // warm
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return median(times);
}

const db = await createThrowawayDatabase(SERVER);
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
try {
  const module = readModuleMigrations(benchModule('fm-bench-grid-', 'CREATE TABLE bench_items (id int);\n'));
  await ensureSystemSchemaLocked(pool);
  // The registry as a fleet has it: every tenant; the plugin installed in 90 % (a tenth of them off),
  // its migration applied there, a few failing. No schemas: the page reads the registry only.
  await pool.query(`INSERT INTO sys_tenant (code, name, schema_name) SELECT 't' || lpad(n::text, 5, '0'), 'Tenant ' || n, 'tenant_t' || n FROM generate_series(1, ${TENANTS}) n`);
  await pool.query(`INSERT INTO sys_plugins (plugin_id, api_version, version_installed, enabled_global) VALUES ('bench', '1.x', '1.0.0', true)`);
  await pool.query(`INSERT INTO sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed)
                    SELECT id, 'bench', (row_number() OVER (ORDER BY code)) % 10 <> 0, '1.0.0' FROM sys_tenant WHERE right(code, 1) <> '9'`);
  await pool.query(`INSERT INTO sys_plugin_migrations (plugin_id, scope, tenant_id, name, version, checksum)
                    SELECT 'bench', 'tenant', tenant_id, '001_init.sql', '1.0.0', 'x' FROM sys_tenant_plugins`);
  await pool.query(`INSERT INTO sys_migration_quarantine (plugin_id, schema_name, tenant_id, failures, error)
                    SELECT 'bench', schema_name, id, 1, 'boom' FROM sys_tenant WHERE code LIKE '%77'`);
  await pool.query('ANALYZE');

  const app = express();
  app.use('/api/admin', adminRouter({
    pool, modules: [module],
    access: {
      authenticate: (req, _res, next) => {
        req.identity = { tenantId: '00000000-0000-4000-8000-000000000000', userId: '00000000-0000-4000-8000-000000000001', tenantCode: 'ops' };
        req.requestId = 'bench';
        next();
      },
      can: async () => true,
      actorName: async () => 'bench',
    },
  }));
  const http = supertest(app);
  const page = (query: string) => async () => {
    const res = await http.get(`/api/admin/tenants?${query}`);
    if (res.status !== 200 || res.body.rows.length === 0) throw new Error(`GET /api/admin/tenants?${query}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  };

  const floor = await timed(() => pool.query('SELECT id, code, name FROM sys_tenant ORDER BY code LIMIT 100'));
  console.log(`The admin API's plugins × tenants page, ${TENANTS} tenants, 100 rows (median of ${ROUNDS}), beside one plain SELECT of 100 tenants\n`);
  console.log(`  ${'page'.padEnd(52)}${'ms'.padStart(10)}${'floor ms'.padStart(10)}${'ratio'.padStart(10)}`);
  const middle = `t${String(Math.floor(TENANTS / 2)).padStart(5, '0')}`;
  for (const [what, query] of [
    ['first page', 'limit=100'],
    ['a page in the middle (after=…)', `limit=100&after=${middle}`],
    ['plugin=bench&state=disabled', 'limit=100&plugin=bench&state=disabled'],
    ['plugin=bench&migration=pending', 'limit=100&plugin=bench&migration=pending'],
    ['plugin=bench&migration=failed', 'limit=100&plugin=bench&migration=failed'],
    ['search q=77', 'limit=100&q=77'],
  ] as const) {
    const ms = await timed(page(query));
    console.log(`  ${what.padEnd(52)}${ms.toFixed(1).padStart(10)}${floor.toFixed(1).padStart(10)}${`${(ms / floor).toFixed(1)}x`.padStart(10)}${ms < 100 ? '' : '   over 100 ms'}`);
  }
} finally {
  await pool.end();
  await db.drop();
}
