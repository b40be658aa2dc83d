/**
 * `tenants create` is re-runnable: killed with SIGKILL while it creates tenants, then again while
 * it migrates them, the same command run a third time ends with every tenant created once and
 * every migration applied once.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseServers } from '../testing/databases.ts';
import { migrationDb } from './helpers/migration-fixtures.ts';
import { CLI, cleanUp, count, enableGlobally, jsonLines, rowsPerTenant, tenantsModule, tenantsProgram } from './helpers/tenants-cli.ts';

afterAll(cleanUp);

const SLOW_ONCE = {
  'tenant/001_init.sql': 'CREATE TABLE beta_log (n int);\n',
  // Slow enough to be killed part-way; a second application would show as a second row.
  'tenant/002_fill.sql': 'SELECT pg_sleep(0.01);\nINSERT INTO beta_log VALUES (1);\n',
};

const CODES = Array.from({ length: 200 }, (_, i) => `t${String(i + 1).padStart(4, '0')}`);

/** Runs `tenants create` and SIGKILLs it once `enough` (given its JSON lines so far) says so. */
async function killedWhen(args: string[], enough: (events: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  const child = spawn(process.execPath, [CLI, 'tenants', 'create', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let events: Record<string, unknown>[] = [];
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      events = jsonLines(out.slice(0, out.lastIndexOf('\n') + 1));
      if (enough(events) && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.once('exit', () => resolve());
  });
  expect(child.signalCode, 'killed, not finished').toBe('SIGKILL');
  return events;
}

describe.each(databaseServers())('foundation-module tenants create killed part-way on $name PostgreSQL', (server) => {
  it('is killed with SIGKILL while creating 200 tenants, then while migrating them; run again: every tenant once, every migration once', async (context) => {
    const dir = tenantsModule('beta', SLOW_ONCE);
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    await enableGlobally(db, 'beta');
    const args = [...CODES, '--modules', dir, '--json', '--batch', '20', '--concurrency', '4', '--database-url', db.database.url];

    // A schema of the third batch, being created by an open transaction: that batch waits on it,
    // so the kill lands inside the batch, after two batches committed.
    const blocker = await db.pool.connect();
    context.onTestFinished(() => blocker.release());
    await blocker.query('BEGIN; CREATE SCHEMA tenant_t0050');
    const first = await killedWhen(args, (events) => events.filter((e) => e.event === 'tenant').length >= 40);
    await blocker.query('ROLLBACK');
    expect(first.filter((e) => e.event === 'tenant').map((e) => e.state)).toEqual(Array(40).fill('created'));
    // The batch in flight rolled back whole: each row has its schema, and each schema its row.
    expect(await count(db, 'SELECT count(*) FROM sys_tenant')).toBe(40);
    expect(await count(db, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_t%'`)).toBe(40);

    const second = await killedWhen(args, (events) => events.filter((e) => e.event === 'target').length >= 40);
    expect(second.filter((e) => e.event === 'tenant' && e.state === 'exists')).toHaveLength(40);
    expect(second.filter((e) => e.event === 'tenant' && e.state === 'created')).toHaveLength(160);
    const applied = await count(db, 'SELECT count(*) FROM sys_plugin_migrations');
    expect(applied, 'killed part-way through the migrations, not at the end').toBeLessThan(400);
    expect(applied).toBeGreaterThanOrEqual(80);

    const third = tenantsProgram(['create', ...args]);
    expect(third.status, third.stderr).toBe(0);
    const events = jsonLines(third.stdout);
    expect(events.filter((e) => e.event === 'tenant' && e.state === 'exists')).toHaveLength(200);
    expect(events.at(-1)).toMatchObject({ event: 'summary', exitCode: 0, created: 0, existing: 200, failed: 0 });

    expect(await db.sql('SELECT count(*)::int AS n, count(DISTINCT code)::int AS codes FROM sys_tenant')).toEqual([{ n: 200, codes: 200 }]);
    expect(await count(db, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_t%'`)).toBe(200);
    expect(await count(db, 'SELECT count(*) FROM sys_plugin_migrations')).toBe(400);
    const rows = await rowsPerTenant(db, 'beta_log');
    expect(rows.size).toBe(200);
    expect(new Set(rows.values()), 'rows per tenant: 1 means every file applied exactly once').toEqual(new Set([1]));

    const again = tenantsProgram(['create', ...args.filter((a) => a !== '--json')]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/created +existing +migrated +failed\n +0 +200 +0 +0/);
  });
});
