/**
 * `foundation-module migrate` as an operator runs it: the real program, its exit codes and JSON
 * lines, hostile arguments, and a run killed with SIGKILL part-way through 200 tenants.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { CliError } from '../cli/errors.ts';
import { databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { fixtureModule, migrationDb } from './helpers/migration-fixtures.ts';

const CLI = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const SLOW_ONCE = {
  'tenant/001_init.sql': 'CREATE TABLE beta_log (n int);\n',
  // Slow enough to be killed part-way; a second application would show as a second row.
  'tenant/002_fill.sql': 'SELECT pg_sleep(0.01);\nINSERT INTO beta_log VALUES (1);\n',
};

function module(files: Record<string, string>, id = 'beta'): string {
  const dir = fixtureModule(id, files);
  dirs.push(dir);
  return dir;
}

function migrate(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, 'migrate', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

const jsonLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('foundation-module migrate: arguments', () => {
  const dir = module(SLOW_ONCE);
  it.each([
    [[], 2, /Usage: foundation-module migrate/],
    [['frobnicate'], 2, /Unknown migrate command "frobnicate"/],
    [['up', '--frobnicate'], 2, /Unknown option --frobnicate/],
    [['up', '--tenant'], 2, /--tenant "": needs a value/],
    [['up', '--tenant', ''], 2, /--tenant "": needs a value/],
    [['up', '--tenant', "acme'; DROP TABLE sys_tenant; --"], 2, /is not a tenant code/],
    [['up', '--tenant', 'ACME'], 2, /is not a tenant code/],
    [['up', '--tenant', 'abcdef01-2345-6789-abcd-ef0123456789'], 2, /is not a tenant code.*look like a uuid/],
    [['up', '--plugin', '../etc'], 2, /is not a plugin id/],
    [['up', '--concurrency', '0'], 2, /--concurrency must be a whole number from 1 to 64/],
    [['up', '--concurrency', '1e3'], 2, /--concurrency must be a whole number/],
    [['up', '--concurrency', '-1'], 2, /Unknown option --1/], // mri reads -1 as an option: still a usage error
    [['up', '--concurrency', '2', '--concurrency', '3'], 2, /--concurrency is given 2 times/],
    [['up', '--batch', 'ten'], 2, /--batch must be a whole number/],
    [['up', '--from', '0'], 2, /--from must be a whole number from 1/],
    [['up', '--from', '3', '--to', '1'], 2, /--from 3 is above --to 1/],
    [['up', '--lock-timeout', '5s'], 2, /--lock-timeout must be a whole number/],
    [['up', '--resume', 'last'], 2, /--resume needs a run id/],
    [['up', '/nonexistent/module'], 2, /is not a module directory/],
  ])('migrate %j exits %i naming the problem', async (args, exitCode, message) => {
    // The module folder goes right after the subcommand, so a bare flag stays last.
    const given = args.length > 0 && !args.includes('/nonexistent/module') ? [args[0]!, dir, ...args.slice(1)] : args;
    const lines: string[] = [];
    const run = migrateCommand(given, { cwd: os.tmpdir(), write: (line) => lines.push(line) });
    if (exitCode === 2 && given.length === 0) {
      expect(await run).toBe(2);
      expect(lines.join('\n')).toMatch(message);
      return;
    }
    const error = await run.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(exitCode);
    expect((error as Error).message).toMatch(message);
  });

  it('parses the same way on every call in one process (mri must not grow the flag lists)', async () => {
    for (let i = 0; i < 60; i += 1) {
      const error = await migrateCommand(['up', dir, '--frobnicate'], { cwd: os.tmpdir(), write: () => {} }).then(() => undefined, (e: unknown) => e);
      expect((error as Error).message).toMatch(/Unknown option --frobnicate/);
    }
  });

  it('refuses a module whose files break the rule with exit 1, naming the file, as a program', () => {
    const broken = module({ 'tenant/001_init.sql': 'SELECT 1;\n', 'tenant/003_gap.sql': 'SELECT 1;\n' });
    const run = migrate(['status', broken, '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^foundation-module: Migrations in .* must be numbered 1, 2, 3… without gaps: 003_gap\.sql/);
  });
});

describe.each(databaseServers())('foundation-module migrate on $name PostgreSQL', (server) => {
  it('is killed with SIGKILL part-way through 200 tenants; --resume then finishes: every file once in every tenant', async (context) => {
    const dir = module(SLOW_ONCE);
    const db = await migrationDb(server.url, 200);
    context.onTestFinished(() => db.close());
    const child = spawn(process.execPath, [CLI, 'migrate', 'up', dir, '--json', '--concurrency', '4', '--database-url', db.database.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let runId: string | undefined;
    let seen = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
        for (const event of jsonLines(out.slice(0, out.lastIndexOf('\n') + 1))) {
          if (event.event === 'started') runId = event.runId as string;
        }
        seen = (out.match(/"event":"target"/g) ?? []).length;
        if (seen >= 40 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.once('exit', () => resolve());
    });
    expect(child.signalCode).toBe('SIGKILL');
    const applied = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_plugin_migrations`))[0]!.n;
    expect(applied, 'killed part-way, not at the end').toBeLessThan(400);
    expect(applied).toBeGreaterThanOrEqual(80);

    const resumed = migrate(['up', dir, '--json', '--resume', runId!, '--database-url', db.database.url]);
    expect(resumed.status, resumed.stderr).toBe(0);
    const summary = jsonLines(resumed.stdout).find((e) => e.event === 'summary')!;
    expect(summary).toMatchObject({ runId, exitCode: 0, failed: 0 });
    expect((await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_plugin_migrations`))[0]!.n).toBe(400);
    const schemas = (await db.sql<{ schema_name: string }>('SELECT schema_name FROM sys_tenant ORDER BY 1')).map((r) => r.schema_name);
    const counts = await db.sql<{ n: number }>(schemas.map((s) => `SELECT count(*)::int AS n FROM "${s}".beta_log`).join(' UNION ALL '));
    expect(new Set(counts.map((r) => r.n)), 'rows per tenant: 1 means every file applied exactly once').toEqual(new Set([1]));
    expect(await db.sql(`SELECT status FROM sys_migration_runs WHERE run_id = $1`, [runId])).toEqual([{ status: 'succeeded' }]);

    const again = migrate(['up', dir, '--database-url', db.database.url]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/Nothing to do: every target is up to date \(201 checked/);
  });

  it('exits 1 when a tenant fails, with JSON lines naming it and the summary', async (context) => {
    const dir = module({ 'tenant/001_init.sql': 'CREATE TABLE gamma_t (n int);\n' }, 'gamma');
    const db = await migrationDb(server.url, 3);
    context.onTestFinished(() => db.close());
    await db.sql('CREATE TABLE tenant_t0002.gamma_t (n int)');
    const run = migrate(['up', dir, '--json', '--database-url', db.database.url]);
    expect(run.status).toBe(1);
    const events = jsonLines(run.stdout);
    expect(events.filter((e) => e.event === 'target' && e.state === 'failed')).toEqual([
      expect.objectContaining({ plugin: 'gamma', tenant: 't0002', file: '001_init.sql', sqlState: '42P07', error: expect.stringMatching(/already exists/) }),
    ]);
    expect(events.at(-1)).toMatchObject({ event: 'summary', exitCode: 1, done: 2, failed: 1 });
    const status = migrate(['status', dir, '--json', '--database-url', db.database.url]);
    expect(status.status).toBe(0);
    expect(jsonLines(status.stdout)[0]).toMatchObject({ event: 'status', plan: { targets: [expect.objectContaining({ tenant: 't0002', files: ['001_init.sql'] })] } });
  });

  it('prints the plan with its SQL on --dry-run, and validate exits 1 for a changed applied file', async (context) => {
    const dir = module({ 'tenant/001_init.sql': 'CREATE TABLE delta_t (n int);\n' }, 'delta');
    const db = await migrationDb(server.url, 2);
    context.onTestFinished(() => db.close());
    const dry = migrate(['up', dir, '--dry-run', '--database-url', db.database.url]);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('Dry run: nothing written.');
    expect(dry.stdout).toMatch(/APPLY delta tenant\/001_init\.sql in t0001, t0002\n {4}CREATE TABLE delta_t \(n int\);/);
    expect(migrate(['up', dir, '--database-url', db.database.url]).status).toBe(0);
    expect(migrate(['validate', dir, '--database-url', db.database.url]).status).toBe(0);
    fs.appendFileSync(path.join(dir, 'migrations/tenant/001_init.sql'), '-- changed\n');
    const invalid = migrate(['validate', dir, '--database-url', db.database.url]);
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toMatch(/BLOCKED \(changed\) delta tenant t0001/);
  });
});

describe('foundation-module migrate without a database URL', () => {
  it('uses the embedded PostgreSQL of --sandbox-dir', () => {
    const sandboxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-migrate-sandbox-'));
    fs.chmodSync(sandboxDir, 0o755);
    dirs.push(sandboxDir);
    const dir = module({ 'public/001_init.sql': 'CREATE TABLE epsilon_t (n int);\n' }, 'epsilon');
    const up = migrate(['up', dir, '--sandbox-dir', sandboxDir], { DATABASE_URL: '' });
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/files applied/);
    const status = migrate(['status', dir, '--sandbox-dir', sandboxDir], { DATABASE_URL: '' });
    expect(status.stdout).toMatch(/0 tenant\(s\) and the public schema; 1 target\(s\) up to date/);
  });
});

// The examples' modules too, as an operator would run it inside one.
describe('foundation-module migrate in a module folder', () => {
  it('reads the module of the current folder when none is named', async () => {
    const lines: string[] = [];
    const dir = module({ 'tenant/001_init.sql': 'SELECT 1;\n' }, 'zeta');
    const db = await migrationDb(databaseServers()[0]!.url, 1);
    try {
      expect(await migrateCommand(['status', '--database-url', db.database.url, '--json'], { cwd: dir, write: (l) => lines.push(l) })).toBe(0);
      expect(JSON.parse(lines[0]!)).toMatchObject({ plan: { targets: [expect.objectContaining({ plugin: 'zeta', tenant: 't0001' })] } });
    } finally {
      await db.close();
    }
  });
});

