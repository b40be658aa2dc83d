/**
 * The migration runner (sandbox/migrations/) on real PostgreSQL: order, once-only, no-op cost,
 * dry run, drift, failures, vanished schemas, two runners at once, locks, quarantine, resume.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSqlParser, parseSql } from '../operations/migrations/sql-statements.ts';
import { runMigrations, type RunnerOptions } from '../operations/migrations/runner.ts';
import { createThrowawayDatabase, databaseServers } from '../testing/databases.ts';
import { addTenants, catalogSnapshot, countingPool, fixtureModule, migrationDb, modulesOf, writeMigrations, type MigrationDb } from './helpers/migration-fixtures.ts';

const BASE = {
  'public/001_config.sql': 'CREATE TABLE alpha_config (key text PRIMARY KEY, value text);\nINSERT INTO alpha_config VALUES (\'mode\', \'on\');\n',
  'tenant/001_init.sql': 'CREATE TABLE alpha_items (id serial PRIMARY KEY, name text NOT NULL);\nCREATE TABLE alpha_flags (flag text);\nINSERT INTO alpha_items (name) VALUES (\'seed\');\n',
  'tenant/001_init.down.sql': 'DROP TABLE alpha_flags;\nDROP TABLE alpha_items;\n',
  'tenant/002_add_sku.sql': 'ALTER TABLE alpha_items ADD COLUMN sku text;\n',
  'tenant/002_add_sku.down.sql': 'ALTER TABLE alpha_items DROP COLUMN sku;\n',
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const moduleWith = (files: Record<string, string>, id = 'alpha') => {
  const dir = fixtureModule(id, files);
  dirs.push(dir);
  return dir;
};

describe.each(databaseServers())('the migration runner on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let dir: string;
  const run = (options: Partial<RunnerOptions> = {}) => runMigrations({ pool: db.pool, modules: modulesOf(dir), ...options });
  const ledger = async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM sys_plugin_migrations'))[0]!.n;

  beforeEach(async (context) => {
    dir = moduleWith(BASE);
    db = await migrationDb(server.url, 5);
    context.onTestFinished(() => db.close());
  });

  it('applies public first, then every tenant, each file once with its ledger row', async () => {
    const order: string[] = [];
    const report = await run({ onEvent: (e) => e.type === 'target' && order.push(e.work.target.schema) });
    expect(report.exitCode).toBe(0);
    expect(order[0]).toBe('public');
    expect(order.slice(1).sort()).toEqual(['tenant_t0001', 'tenant_t0002', 'tenant_t0003', 'tenant_t0004', 'tenant_t0005']);
    expect(await ledger()).toBe(1 + 5 * 2);
    for (let i = 1; i <= 5; i += 1) {
      expect(await db.sql(`SELECT name, sku FROM tenant_t000${i}.alpha_items`)).toEqual([{ name: 'seed', sku: null }]);
    }
    expect(await db.sql(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'alpha_items'`)).toEqual([]);
    const [row] = await db.sql<{ checksum_algorithm: string; run_id: string }>(`SELECT checksum_algorithm, run_id::text FROM sys_plugin_migrations LIMIT 1`);
    expect(row).toEqual({ checksum_algorithm: 'sha256', run_id: report.runId });
    expect(await db.sql(`SELECT version_installed FROM sys_plugins WHERE plugin_id = 'alpha'`)).toEqual([{ version_installed: '1.0.0' }]);
  });

  it('decides that everything is up to date, checksums included, in one query', async () => {
    await run();
    const counted = countingPool(db.pool);
    const report = await runMigrations({ pool: counted.pool, modules: modulesOf(dir) });
    expect(report).toMatchObject({ exitCode: 0, runId: null, results: [], blocked: [] });
    expect(report.plan.upToDate).toBe(6);
    expect(counted.count()).toBe(1);
  });

  it('--dry-run plans with the SQL and writes nothing at all, not even the ledger on a new database', async () => {
    const fresh = await createThrowawayDatabase(server.url);
    const pool = new pg.Pool({ connectionString: fresh.url, max: 4 });
    // A session the database's drop ends must not surface as an uncaught pool error.
    pool.on('error', () => {});
    try {
      const before = await catalogSnapshot(pool);
      const report = await runMigrations({ pool, modules: modulesOf(dir), dryRun: true });
      expect(report.plan.work.map((w) => w.target.schema)).toEqual(['public']);
      expect(report.plan.ledger).toBe(false);
      expect(await catalogSnapshot(pool)).toEqual(before);
    } finally {
      await pool.end();
      await fresh.drop();
    }
    const before = await catalogSnapshot(db.pool);
    const report = await run({ dryRun: true });
    expect(report.plan.work).toHaveLength(6);
    expect(report.plan.work.find((w) => w.target.tenantCode === 't0001')!.files.map((f) => f.name)).toEqual(['001_init.sql', '002_add_sku.sql']);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('stops a schema whose applied file changed, naming plugin, file, schema and both hashes; applies nothing more there', async () => {
    await run();
    const original = fs.readFileSync(path.join(dir, 'migrations/tenant/001_init.sql'), 'utf8');
    fs.writeFileSync(path.join(dir, 'migrations/tenant/001_init.sql'), `${original}-- edited after it ran\n`);
    writeMigrations(dir, { 'tenant/003_add_price.sql': 'ALTER TABLE alpha_items ADD COLUMN price int;\n' });
    const report = await run();
    expect(report.exitCode).toBe(1);
    expect(report.blocked).toHaveLength(5);
    const { message } = report.blocked.find((w) => w.target.tenantCode === 't0002')!.blocked!;
    expect(message).toMatch(/tenant\/001_init\.sql of plugin "alpha" was changed after it ran in tenant t0002 \(schema tenant_t0002\): recorded sha256 [0-9a-f]{64}, file now [0-9a-f]{64}/);
    expect(await db.sql(`SELECT 1 FROM information_schema.columns WHERE column_name = 'price'`)).toEqual([]);
  });

  it('reads CRLF line endings as LF: a checkout on Windows changes no checksum', async () => {
    await run();
    for (const file of ['tenant/001_init.sql', 'tenant/002_add_sku.sql']) {
      const full = path.join(dir, 'migrations', file);
      fs.writeFileSync(full, fs.readFileSync(full, 'utf8').replaceAll('\n', '\r\n'));
    }
    const report = await run();
    expect(report).toMatchObject({ exitCode: 0, blocked: [], results: [] });
  });

  it('rolls back a tenant whose migration fails, records it in the journal, reports it, and does the others', async () => {
    await run();
    await db.sql(`INSERT INTO tenant_t0003.alpha_flags VALUES ('refuse')`);
    writeMigrations(dir, {
      'tenant/003_guarded.sql': `ALTER TABLE alpha_items ADD COLUMN guarded boolean;\nDO $$ BEGIN IF EXISTS (SELECT 1 FROM alpha_flags) THEN RAISE EXCEPTION 'flag set in %', current_schema(); END IF; END $$;\n`,
    });
    const report = await run();
    expect(report.exitCode).toBe(1);
    const failed = report.results.filter((r) => r.outcome.state === 'failed');
    expect(failed.map((r) => r.work.target.tenantCode)).toEqual(['t0003']);
    expect(failed[0]!.outcome).toMatchObject({ file: '003_guarded.sql', sqlState: 'P0001', error: expect.stringMatching(/003_guarded\.sql of plugin "alpha" failed in tenant t0003.*flag set in tenant_t0003.*rolled back/) });
    expect(await db.sql(`SELECT table_schema FROM information_schema.columns WHERE column_name = 'guarded' ORDER BY 1`))
      .toEqual(['tenant_t0001', 'tenant_t0002', 'tenant_t0004', 'tenant_t0005'].map((table_schema) => ({ table_schema })));
    const journal = await db.sql(`SELECT schema_name, state, file, sql_state, error FROM sys_migration_run_targets WHERE run_id = $1 AND state <> 'done'`, [report.runId]);
    expect(journal).toEqual([{ schema_name: 'tenant_t0003', state: 'failed', file: '003_guarded.sql', sql_state: 'P0001', error: expect.stringContaining('flag set') }]);
    expect(await db.sql(`SELECT status FROM sys_migration_runs WHERE run_id = $1`, [report.runId])).toEqual([{ status: 'failed' }]);
  });

  it('quarantines a tenant after --max-attempts failed runs, skips it with exit 3, and runs it again when asked', async () => {
    await run();
    await db.sql(`INSERT INTO tenant_t0001.alpha_flags VALUES ('refuse')`);
    writeMigrations(dir, { 'tenant/003_guarded.sql': `DO $$ BEGIN IF EXISTS (SELECT 1 FROM alpha_flags) THEN RAISE EXCEPTION 'not yet'; END IF; END $$;\n` });
    expect((await run({ maxAttempts: 2 })).exitCode).toBe(1);
    const second = await run({ maxAttempts: 2 });
    expect(second.exitCode).toBe(3);
    expect(second.results.find((r) => r.work.target.tenantCode === 't0001')!.quarantined).toBe(true);
    const third = await run({ maxAttempts: 2 });
    expect(third.exitCode).toBe(3);
    expect(third.results).toEqual([]);
    expect(third.blocked.map((w) => [w.target.tenantCode, w.blocked!.reason])).toEqual([['t0001', 'quarantined']]);
    await db.sql('DELETE FROM tenant_t0001.alpha_flags');
    const retried = await run({ maxAttempts: 2, retryQuarantined: true });
    expect(retried.exitCode).toBe(0);
    expect(await db.sql('SELECT * FROM sys_migration_quarantine')).toEqual([]);
  });

  it('refuses a tenant whose schema vanished, writing nothing to public', async () => {
    await db.sql('DROP SCHEMA tenant_t0002');
    const report = await run();
    expect(report.exitCode).toBe(1);
    expect(report.blocked.map((w) => [w.target.tenantCode, w.blocked!.reason])).toEqual([['t0002', 'schema-missing']]);
    expect(await db.sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'alpha_%' ORDER BY 1`)).toEqual([{ table_name: 'alpha_config' }]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_plugin_migrations m JOIN sys_tenant t ON t.id = m.tenant_id WHERE t.code = 't0002'`)).toEqual([{ n: 0 }]);
  });

  it('lets two runners started together apply every file once, and both finish', async () => {
    await addTenants(db.pool, 6, 30);
    writeMigrations(dir, { 'tenant/003_count.sql': 'INSERT INTO alpha_items (name) VALUES (\'once\');\n' });
    const second = new pg.Pool({ connectionString: db.database.url, max: 8 });
    // A session the database's drop ends must not surface as an uncaught pool error.
    second.on('error', () => {});
    try {
      const [a, b] = await Promise.all([run({ concurrency: 3 }), runMigrations({ pool: second, modules: modulesOf(dir), concurrency: 3 })]);
      const problems = [...a.results, ...b.results].filter((r) => r.outcome.state !== 'done').map((r) => r.outcome);
      expect(problems).toEqual([]);
      expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
      const applied = [...a.results, ...b.results].flatMap((r) => r.outcome.applied.map((file) => `${r.work.target.schema}/${file}`));
      expect(applied.length).toBe(new Set(applied).size);
      expect(await ledger()).toBe(1 + 30 * 3);
      const onces = await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_tenant t, LATERAL (SELECT 1) x WHERE true`);
      expect(onces[0]!.n).toBe(30);
      for (const code of ['t0001', 't0017', 't0030']) {
        expect(await db.sql(`SELECT count(*)::int AS n FROM tenant_${code}.alpha_items WHERE name = 'once'`)).toEqual([{ n: 1 }]);
      }
    } finally {
      await second.end();
    }
  });

  it('reports a tenant whose table is locked past the lock timeout as locked (exit 3), and does the others', async () => {
    await run();
    writeMigrations(dir, { 'tenant/003_add_note.sql': 'ALTER TABLE alpha_items ADD COLUMN note text;\n' });
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE tenant_t0004.alpha_items IN ACCESS SHARE MODE');
      const report = await run({ lockTimeoutMs: 300 });
      expect(report.exitCode).toBe(3);
      expect(report.results.filter((r) => r.outcome.state === 'locked').map((r) => r.work.target.tenantCode)).toEqual(['t0004']);
      expect(report.results.filter((r) => r.outcome.state === 'done')).toHaveLength(4);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await run()).exitCode).toBe(0);
  });

  it('sends statements one at a time, split by a parser: dollar quotes, strings and comments keep their semicolons', async () => {
    writeMigrations(dir, {
      'tenant/003_function.sql': `/* a comment; /* nested; */ still comment; */
CREATE FUNCTION alpha_label(n int) RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 'item;' || n; -- a semicolon in a comment;
END;
$body$;
INSERT INTO alpha_items (name) VALUES ('semi;colon'), (E'quote\\';still');
`,
    });
    expect((await run()).exitCode).toBe(0);
    expect(await db.sql(`SELECT tenant_t0001.alpha_label(7) AS label`)).toEqual([{ label: 'item;7' }]);
    expect((await db.sql<{ name: string }>(`SELECT name FROM tenant_t0001.alpha_items ORDER BY id`)).map((r) => r.name)).toEqual(['seed', 'semi;colon', "quote';still"]);
  });

  it('never sends more than one statement in a query (a Citus coordinator refuses several)', async () => {
    await run();
    writeMigrations(dir, { 'tenant/003_two.sql': 'ALTER TABLE alpha_items ADD COLUMN a int;\nALTER TABLE alpha_items ADD COLUMN b int;\n' });
    const recorded = countingPool(db.pool);
    expect((await runMigrations({ pool: recorded.pool, modules: modulesOf(dir) })).exitCode).toBe(0);
    expect(recorded.texts).toContain('ALTER TABLE alpha_items ADD COLUMN a int');
    await loadSqlParser();
    const several = recorded.texts.filter((text) => { const parsed = parseSql(text); return !parsed.ok || parsed.statements.length > 1; });
    expect(several).toEqual([]);
  });

  it('runs a -- migrate:no-transaction file outside a transaction, records it, and leaves the session clean', async () => {
    await run();
    writeMigrations(dir, { 'tenant/003_index.sql': '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS alpha_items_name_idx ON alpha_items (name);\n' });
    const report = await run({ concurrency: 1 });
    expect(report.exitCode).toBe(0);
    expect(await db.sql(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'alpha_items_name_idx'`)).toEqual([{ n: 5 }]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_plugin_migrations WHERE name = '003_index.sql'`)).toEqual([{ n: 5 }]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([{ n: 0 }]);
  });

  it('undoes the last file, or every file above --to, newest first, with the ledger rows', async () => {
    await run();
    const last = await run({ direction: 'down', tenants: ['t0001'] });
    expect(last.exitCode).toBe(0);
    // The public schema serves every tenant: a down limited to one tenant leaves it alone.
    expect(last.results.map((r) => [r.work.target.schema, r.outcome.applied])).toEqual([['tenant_t0001', ['002_add_sku.sql']]]);
    expect(await db.sql(`SELECT 1 FROM information_schema.columns WHERE table_schema = 'tenant_t0001' AND column_name = 'sku'`)).toEqual([]);
    const all = await run({ direction: 'down', to: 0, tenants: ['t0002'] });
    expect(all.results.find((r) => r.work.target.schema === 'tenant_t0002')!.outcome.applied).toEqual(['002_add_sku.sql', '001_init.sql']);
    expect(await db.sql(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'tenant_t0002'`)).toEqual([]);
    expect(await db.sql(`SELECT m.name FROM sys_plugin_migrations m JOIN sys_tenant t ON t.id = m.tenant_id WHERE t.code = 't0002'`)).toEqual([]);
  });

  it('runs a canary (--tenant) on those tenants only, and flips version_installed only once all are done', async () => {
    const canary = await run({ tenants: ['t0003'] });
    expect(canary.results.map((r) => r.work.target.schema).sort()).toEqual(['public', 'tenant_t0003']);
    expect(await db.sql(`SELECT version_installed FROM sys_plugins WHERE plugin_id = 'alpha'`)).toEqual([{ version_installed: '0.0.0' }]);
    await run();
    expect(await db.sql(`SELECT version_installed FROM sys_plugins WHERE plugin_id = 'alpha'`)).toEqual([{ version_installed: '1.0.0' }]);
  });

  it('resumes a run: the same journal, only what is left', async () => {
    await db.sql(`CREATE TABLE tenant_t0005.alpha_items (id int)`); // 001 will fail there
    const first = await run();
    expect(first.results.filter((r) => r.outcome.state === 'failed').map((r) => r.work.target.tenantCode)).toEqual(['t0005']);
    await db.sql(`DROP TABLE tenant_t0005.alpha_items`);
    const resumed = await run({ resume: first.runId! });
    expect(resumed.runId).toBe(first.runId);
    expect(resumed.results.map((r) => r.work.target.tenantCode)).toEqual(['t0005']);
    expect(await db.sql(`SELECT status FROM sys_migration_runs WHERE run_id = $1`, [first.runId])).toEqual([{ status: 'succeeded' }]);
    expect(await db.sql(`SELECT state, count(*)::int AS n FROM sys_migration_run_targets WHERE run_id = $1 GROUP BY 1`, [first.runId])).toEqual([{ state: 'done', n: 6 }]);
  });
});
