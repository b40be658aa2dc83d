/**
 * What a migration file may do to the runner, on real PostgreSQL: transaction control of its own
 * (refused before anything runs, or dropped when it wraps the whole file), problems found by
 * `validate` and `--dry-run` before a run, failures named by statement, line and column, and
 * no-transaction files run by two runners at once (no deadlock, no invalid index recorded).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { runMigrations, type RunnerOptions } from '../operations/migrations/runner.ts';
import { databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { fixtureModule, migrationDb, modulesOf, writeMigrations, type MigrationDb } from './helpers/migration-fixtures.ts';

const INIT = { 'tenant/001_init.sql': 'CREATE TABLE gamma_items (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO gamma_items (name) VALUES (\'seed\');\n' };

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const moduleWith = (files: Record<string, string>, id = 'gamma') => {
  const dir = fixtureModule(id, files);
  dirs.push(dir);
  return dir;
};

/** Transaction control between statements: each would end the runner's transaction. */
const ESCAPES: [string, string][] = [
  ['COMMIT', 'COMMIT;'],
  ['ROLLBACK', 'ROLLBACK;'],
  ['END', 'END;'],
  ['ABORT', 'ABORT;'],
  ['COMMIT AND CHAIN', 'COMMIT AND CHAIN;'],
  ['SAVEPOINT', 'SAVEPOINT before_leak;'],
  ['RELEASE SAVEPOINT', 'SAVEPOINT s;\nRELEASE SAVEPOINT s;'],
  ['ROLLBACK TO SAVEPOINT', 'SAVEPOINT s;\nROLLBACK TO SAVEPOINT s;'],
  ['SET TRANSACTION', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;'],
  ['PREPARE TRANSACTION', "PREPARE TRANSACTION 'gamma';"],
  ['a BEGIN in the middle', 'BEGIN;'],
  ['START TRANSACTION in the middle', 'START TRANSACTION;'],
  ['a whole-file wrapper that rolls back', null as unknown as string],
];

describe.each(databaseServers())('migration files that would escape the runner on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let dir: string;
  const run = (options: Partial<RunnerOptions> = {}) => runMigrations({ pool: db.pool, modules: modulesOf(dir), ...options });
  const publicTables = async () => (await db.sql<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'gamma%'`)).map((r) => r.name);
  const ledger = async (name: string) => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM sys_plugin_migrations WHERE name = $1', [name]))[0]!.n;

  beforeEach(async (context) => {
    dir = moduleWith(INIT);
    db = await migrationDb(server.url, 3);
    context.onTestFinished(() => db.close());
    expect((await run()).exitCode).toBe(0);
  });

  it.each(ESCAPES)('refuses %s before anything runs, naming file, line and the way out', async (_what, control) => {
    const sql = control === null
      ? 'BEGIN;\nCREATE TABLE gamma_leak (n int);\nROLLBACK;\n'
      : `CREATE TABLE gamma_before (n int);\n${control}\nCREATE TABLE gamma_leak (n int);\nINSERT INTO gamma_leak VALUES (1);\n`;
    writeMigrations(dir, { 'tenant/002_escape.sql': sql });
    const report = await run();
    expect(report.exitCode).toBe(1);
    expect(report.results).toEqual([]);
    expect(report.blocked).toHaveLength(3);
    for (const work of report.blocked) {
      expect(work.blocked).toMatchObject({ reason: 'invalid' });
      expect(work.blocked!.message).toMatch(/tenant\/002_escape\.sql of plugin "gamma" can't run, line \d+, column 1: /);
    }
    if (control !== null) {
      expect(report.blocked[0]!.blocked!.message).toMatch(/line 2, column 1/);
      expect(report.blocked[0]!.blocked!.message).toMatch(/-- migrate:no-transaction|two-phase/);
    }
    expect(await publicTables()).toEqual([]);
    expect(await ledger('002_escape.sql')).toBe(0);
    expect(await db.sql(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('gamma_before', 'gamma_leak')`)).toEqual([{ n: 0 }]);
    expect(await db.sql('SELECT count(*)::int AS n FROM pg_prepared_xacts')).toEqual([{ n: 0 }]);
  });

  it.each([
    ['BEGIN; … COMMIT;', 'BEGIN;\n', 'COMMIT;\n'],
    ['START TRANSACTION; … END;', 'start transaction;\n', 'end;\n'],
    ['BEGIN WORK; … COMMIT WORK; with comments around', '-- wrapped, as many real sets are\nBEGIN WORK;\n', 'COMMIT WORK;\n-- done\n'],
  ])('runs a file wrapped whole in %s as the runner\'s one transaction, in each tenant\'s schema', async (_what, begin, commit) => {
    writeMigrations(dir, { 'tenant/002_wrapped.sql': `${begin}CREATE TABLE gamma_wrapped (n int);\nINSERT INTO gamma_wrapped VALUES (1);\n${commit}` });
    expect((await run()).exitCode).toBe(0);
    expect(await publicTables()).toEqual([]);
    for (const schema of ['tenant_t0001', 'tenant_t0002', 'tenant_t0003']) {
      expect(await db.sql(`SELECT n FROM ${schema}.gamma_wrapped`)).toEqual([{ n: 1 }]);
    }
    expect(await ledger('002_wrapped.sql')).toBe(3);
  });

  it('rolls back the whole of a wrapped file that fails part-way, and says so truly', async () => {
    writeMigrations(dir, { 'tenant/002_wrapped.sql': 'BEGIN;\nCREATE TABLE gamma_wrapped (n int);\nINSERT INTO gamma_wrapped VALUES (1);\nINSERT INTO gamma_missing VALUES (2);\nCOMMIT;\n' });
    const report = await run();
    expect(report.exitCode).toBe(1);
    expect(report.results.map((r) => r.outcome.state)).toEqual(['failed', 'failed', 'failed']);
    const outcome = report.results[0]!.outcome;
    expect(outcome.state === 'failed' && outcome.error).toMatch(/at statement 4 \(line 4, column 13\): relation "gamma_missing" does not exist\. It was rolled back\./);
    expect(outcome.state === 'failed' && outcome.statement).toEqual({ number: 4, line: 4, column: 13 });
    expect(await db.sql(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'gamma_wrapped'`)).toEqual([{ n: 0 }]);
    expect(await ledger('002_wrapped.sql')).toBe(0);
  });

  it('names a failing .down.sql, its statement, line and column, and keeps the file applied', async () => {
    writeMigrations(dir, { 'tenant/002_note.sql': 'ALTER TABLE gamma_items ADD COLUMN note text;\n', 'tenant/002_note.down.sql': 'ALTER TABLE gamma_items DROP COLUMN note;\nDROP TABLE gamma_nothing;\n' });
    expect((await run()).exitCode).toBe(0);
    const outcome = (await run({ direction: 'down', tenants: ['t0001'] })).results[0]!.outcome;
    // DROP TABLE's error carries no position: the statement's own place is given.
    expect(outcome).toMatchObject({ state: 'failed', statement: { number: 2, line: 2, column: 1 } });
    expect(outcome.state === 'failed' && outcome.error).toMatch(/^Undoing tenant\/002_note\.sql of plugin "gamma" with 002_note\.down\.sql failed in tenant t0001 \(schema tenant_t0001\) at statement 2 \(line 2, column 1\): table "gamma_nothing" does not exist\. It was rolled back\./);
    expect(await ledger('002_note.sql')).toBe(3);
  });

  it('refuses to undo a file whose .down.sql holds only comments (the ledger would forget work that stays)', async () => {
    writeMigrations(dir, { 'tenant/002_note.sql': 'ALTER TABLE gamma_items ADD COLUMN note text;\n', 'tenant/002_note.down.sql': '-- Undoes 002_note.sql.\n' });
    expect((await run()).exitCode).toBe(0);
    const report = await run({ direction: 'down' });
    expect(report.exitCode).toBe(1);
    expect(report.blocked.map((w) => w.blocked)).toEqual(Array(3).fill({ reason: 'no-down', message: expect.stringMatching(/002_note\.sql of plugin "gamma" has no 002_note\.down\.sql with a statement in it \(only comments\): it can't be undone/) }));
    expect(await ledger('002_note.sql')).toBe(3);
  });

  it('names the failing statement by number, line and column from PostgreSQL\'s error position', async () => {
    writeMigrations(dir, { 'tenant/002_typo.sql': '-- a header\nALTER TABLE gamma_items ADD COLUMN sku text;\n\nUPDATE gamma_items\n   SET sku = nam;\n' });
    const report = await run();
    const outcome = report.results[0]!.outcome;
    expect(outcome).toMatchObject({ state: 'failed', statement: { number: 2, line: 5, column: 14 } });
    expect(outcome.state === 'failed' && outcome.error).toMatch(/002_typo\.sql of plugin "gamma" failed in tenant t000\d \(schema tenant_t000\d\) at statement 2 \(line 5, column 14\): column "nam" does not exist/);
  });

  it('gives the -- migrate:no-transaction hint for a statement that refuses a transaction at run time', async () => {
    writeMigrations(dir, { 'tenant/002_hidden.sql': "DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY gamma_name_idx ON gamma_items (name)'; END $$;\n" });
    const outcome = (await run()).results[0]!.outcome;
    expect(outcome).toMatchObject({ state: 'failed', sqlState: '25001' });
    expect(outcome.state === 'failed' && outcome.error).toMatch(/put `-- migrate:no-transaction` on the file's first line/);
  });

  it('validate and up --dry-run report every file the run would refuse, with line and column; a real run then runs nothing', async () => {
    writeMigrations(dir, {
      'tenant/002_problems.sql': 'ALTER TABLE gamma_items ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY gamma_a_idx ON gamma_items (a);\n',
      'tenant/003_psql.sql': 'SELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;\n',
      'tenant/004_copy.sql': 'CREATE TABLE gamma_copy (a int, b int);\nCOPY gamma_copy FROM stdin;\n1\t2\n\\.\n',
      'tenant/005_syntax.sql': 'SELECT 1;\nCREATE TABEL gamma_x (n int);\n',
      'tenant/005_syntax.down.sql': 'DROP TABLE gamma_x;\nCOMMIT;\n',
    });
    const lines: string[] = [];
    const cli = (args: string[]) => migrateCommand([args[0]!, dir, '--database-url', db.database.url, ...args.slice(1)], { cwd: os.tmpdir(), write: (line) => lines.push(line) });
    expect(await cli(['validate'])).toBe(1);
    const text = lines.join('\n');
    expect(text).toMatch(/INVALID gamma tenant\/002_problems\.sql line 2, column 1: CREATE INDEX CONCURRENTLY cannot run inside a transaction.*-- migrate:no-transaction/);
    expect(text).toMatch(/INVALID gamma tenant\/003_psql\.sql line 2, column 1: \\set is a psql meta-command/);
    expect(text).toMatch(/INVALID gamma tenant\/004_copy\.sql line 2, column 1: COPY … FROM stdin/);
    expect(text).toMatch(/INVALID gamma tenant\/005_syntax\.sql line 2, column 8: syntax error: at or near "TABEL"/);
    expect(text).toMatch(/INVALID gamma tenant\/005_syntax\.down\.sql line 2, column 1: COMMIT would end the runner's transaction/);
    expect(text).toMatch(/^5 problem\(s\)\.$/m);

    lines.length = 0;
    expect(await cli(['validate', '--json'])).toBe(1);
    const files = (JSON.parse(lines[0]!) as { files: { file: string; line: number; column: number; kind: string }[] }).files;
    expect(files.map((f) => [f.file, f.kind, f.line, f.column])).toEqual([
      ['002_problems.sql', 'non-transactional', 2, 1], ['003_psql.sql', 'meta-command', 2, 1], ['004_copy.sql', 'copy-stdin', 2, 1],
      ['005_syntax.sql', 'syntax', 2, 8], ['005_syntax.down.sql', 'transaction-control', 2, 1],
    ]);

    lines.length = 0;
    expect(await cli(['up', '--dry-run'])).toBe(1);
    expect(lines.join('\n')).toMatch(/BLOCKED \(invalid\) gamma tenant t0001 \(schema tenant_t0001\): tenant\/002_problems\.sql of plugin "gamma" can't run, line 2, column 1: CREATE INDEX CONCURRENTLY/);
    lines.length = 0;
    expect(await cli(['up'])).toBe(1);
    expect(lines.join('\n')).toMatch(/^Nothing ran \(up\): every target with something to do is blocked/m);
    expect(lines.join('\n')).not.toMatch(/null/);
    expect(await db.sql(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'gamma_items' AND column_name = 'a'`)).toEqual([{ n: 0 }]);
  });
});

describe.each(databaseServers())('no-transaction files on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let dir: string;
  const run = (options: Partial<RunnerOptions> = {}) => runMigrations({ pool: db.pool, modules: modulesOf(dir), ...options });
  const invalid = async () => db.sql<{ name: string }>(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid`);

  beforeEach(async (context) => {
    dir = moduleWith({ 'tenant/001_init.sql': 'CREATE TABLE gamma_items (id int PRIMARY KEY, name text, sku text);\nINSERT INTO gamma_items SELECT g, \'n\' || g, \'s\' || (g % 100) FROM generate_series(1, 20000) g;\n' });
    db = await migrationDb(server.url, 24, { max: 20 });
    context.onTestFinished(() => db.close());
    expect((await run()).exitCode).toBe(0);
  });

  it('two runners at once: no deadlock, every index valid, the file recorded once per tenant', async () => {
    writeMigrations(dir, { 'tenant/002_indexes.sql': '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS gamma_name_idx ON gamma_items (name);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS gamma_sku_idx ON gamma_items (lower(sku));\n' });
    const [a, b] = await Promise.all([run({ concurrency: 6 }), run({ concurrency: 6 })]);
    const failures = [...a.results, ...b.results].filter((r) => r.outcome.state !== 'done').map((r) => r.outcome);
    expect(failures).toEqual([]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect(await invalid()).toEqual([]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname IN ('gamma_name_idx', 'gamma_sku_idx')`)).toEqual([{ n: 48 }]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_plugin_migrations WHERE name = '002_indexes.sql'`)).toEqual([{ n: 24 }]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([{ n: 0 }]);
  });

  it('a runner killed (SIGKILL, its sessions gone) while it builds indexes: the next run leaves every index valid, each file recorded once', async () => {
    writeMigrations(dir, { 'tenant/002_indexes.sql': '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS gamma_name_idx ON gamma_items (name, sku);\n' });
    const cli = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
    // An open snapshot makes each build wait at its end, its index built but not yet valid.
    const snapshot = new pg.Client({ connectionString: db.database.url });
    snapshot.on('error', () => {});
    await snapshot.connect();
    await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1');
    const child = spawn(process.execPath, [cli, 'migrate', 'up', dir, '--concurrency', '4', '--database-url', db.database.url], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Until a build waits on the snapshot (a virtualxid wait; a wait on the table's lock, held by
    // autovacuum for instance, comes before the index exists): then the runner dies, and so do its
    // sessions (as with a lost server or network).
    for (let waiting = false; !waiting;) {
      const [building] = await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event = 'virtualxid'`);
      waiting = building!.n > 0 && (await invalid()).length > 0;
      if (!waiting) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    await exited;
    await db.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);
    await snapshot.end().catch(() => {});
    const recorded = async () => (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_plugin_migrations WHERE name = '002_indexes.sql'`))[0]!.n;
    expect(await recorded(), 'killed part-way').toBeLessThan(24);
    expect((await invalid()).length, 'the interrupted build left its index invalid').toBeGreaterThan(0);

    const report = await run();
    expect(report.results.filter((r) => r.outcome.state !== 'done').map((r) => r.outcome)).toEqual([]);
    expect(await invalid()).toEqual([]);
    expect(await db.sql(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'gamma_name_idx'`)).toEqual([{ n: 24 }]);
    expect(await recorded()).toBe(24);
  });

  it('an index build that fails leaves no record; the next run drops the invalid index and builds it again', async () => {
    writeMigrations(dir, { 'tenant/002_unique.sql': '-- migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS gamma_sku_key ON gamma_items (sku);\n' });
    const first = await run({ tenants: ['t0001'] });
    const outcome = first.results.find((r) => r.work.target.tenantCode === 't0001')!.outcome;
    expect(outcome.state).toBe('failed');
    expect(outcome.state === 'failed' && outcome.error).toMatch(/left an invalid index in tenant t0001 \(schema tenant_t0001\) \(tenant_t0001\.gamma_sku_key\).*The next run drops it/);
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_plugin_migrations WHERE name = '002_unique.sql'`)).toEqual([{ n: 0 }]);
    expect(await invalid()).toEqual([{ name: 'gamma_sku_key' }]);

    await db.sql(`UPDATE tenant_t0001.gamma_items SET sku = 'unique-' || id`);
    expect((await run({ tenants: ['t0001'] })).exitCode).toBe(0);
    expect(await invalid()).toEqual([]);
    expect(await db.sql(`SELECT indisunique AS "unique" FROM pg_index WHERE indexrelid = 'tenant_t0001.gamma_sku_key'::regclass`)).toEqual([{ unique: true }]);
  });
});
