/**
 * `ctx.cron` in a foundation: the vendored adapter runs a module's jobs with the same scheduler as
 * the sandbox, on the foundation's bindings. The guarantees fixture writes one entry per tick in
 * each tenant. Checked on the reference foundation: every enabled tenant gets each tick once, a
 * tenant where the module is disabled gets none, and of two foundation processes on one database
 * only one runs each tick, the other taking over when the first stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginsCommand } from '../cli/commands/plugins.ts';
import { startReferenceFoundation, type FoundationInstance, type FoundationTenant } from './helpers/foundation-instance.ts';
import { REPO_ROOT } from './helpers/reference-foundation.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GUARANTEES = path.join(REPO_ROOT, 'test/fixtures/modules/guarantees');

describe('cron jobs of a vendored module, run by the reference foundation (PostgreSQL at TEST_DATABASE_URL)', () => {
  let f: FoundationInstance;
  let dev: FoundationTenant;
  let acme: FoundationTenant;
  let second: ChildProcess | undefined;
  /** The ticks recorded in a tenant: one entry per tick, named by its scheduled time. */
  const ticks = async (tenant: FoundationTenant) =>
    (await f.sql<{ step: string }>(`SELECT step FROM "${tenant.schemaName}".guarantees_entries WHERE marker = 'cron' ORDER BY step`)).map((row) => row.step);

  beforeAll(async () => {
    f = await startReferenceFoundation({ modules: [GUARANTEES], serverUrl: SERVER_URL });
    ({ dev, acme } = f.tenants);
  });

  afterAll(async () => {
    second?.kill('SIGKILL');
    await f?.close();
  });

  it('runs the job at each tick in every tenant where the module is on, each tick once', async () => {
    await waitFor(async () => (await ticks(dev)).length >= 2 && (await ticks(acme)).length >= 2, 'two ticks in dev and in acme');
    for (const tenant of [dev, acme]) {
      const steps = await ticks(tenant);
      expect(new Set(steps).size, `no tick twice in ${tenant.slug}`).toBe(steps.length);
    }
  });

  it('skips a tenant where a migration of the module has not run (the ledger lacks it), and runs there again once it has', async () => {
    const [row] = await f.sql<Record<string, unknown>>(
      `SELECT m.* FROM sys_plugin_migrations m JOIN sys_tenant t ON t.id = m.tenant_id WHERE m.plugin_id = 'guarantees' AND t.schema_name = $1 ORDER BY m.name DESC LIMIT 1`, [acme.schemaName]);
    expect(row, 'guarantees is migrated in acme').toBeDefined();
    await f.sql('DELETE FROM sys_plugin_migrations WHERE id = $1', [row!.id]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const [acmeBefore, devBefore] = [(await ticks(acme)).length, (await ticks(dev)).length];
      await waitFor(async () => (await ticks(dev)).length >= devBefore + 2, 'two more ticks in dev');
      expect((await ticks(acme)).length, 'no tick in acme while its migration is pending').toBe(acmeBefore);
    } finally {
      const columns = Object.keys(row!);
      await f.sql(`INSERT INTO sys_plugin_migrations (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, columns.map((c) => row![c]));
    }
    const acmeAgain = (await ticks(acme)).length;
    await waitFor(async () => (await ticks(acme)).length >= acmeAgain + 2, 'two ticks in acme once its migration is recorded again');
  });

  it('runs nothing in a tenant where the module is disabled, and goes on in the others', async () => {
    const lines: string[] = [];
    const code = await pluginsCommand(['disable', 'guarantees', '--tenant', 'acme', '--database-url', f.databaseUrl], '0.0.0-test', { cwd: f.root, write: (line) => lines.push(line) });
    expect(code, lines.join('\n')).toBe(0);
    // The bindings reuse an enablement answer for a second: past that, acme's count stays put.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [acmeBefore, devBefore] = [(await ticks(acme)).length, (await ticks(dev)).length];
    await waitFor(async () => (await ticks(dev)).length >= devBefore + 2, 'two more ticks in dev');
    expect((await ticks(acme)).length).toBe(acmeBefore);
  });

  it('runs each tick on one process of two sharing the database, and the other takes over when it stops', async () => {
    second = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: f.root, env: { ...process.env, DATABASE_URL: f.databaseUrl, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    second.stdout!.on('data', (chunk) => (output += chunk));
    second.stderr!.on('data', (chunk) => (output += chunk));
    await waitFor(async () => output.includes('listening'), `the second foundation process to start:\n${output}`, 20_000);
    const before = (await ticks(dev)).length;
    await waitFor(async () => (await ticks(dev)).length >= before + 3, 'three more ticks with two processes');
    const steps = await ticks(dev);
    expect(new Set(steps).size, 'no tick ran twice with two processes').toBe(steps.length);

    // This process stops its jobs (as at shutdown): the lock session ends, the second one runs the ticks.
    const router = (await import(pathToFileURL(path.join(f.root, 'src/lib/foundation-module/plugin-router.ts')).href)) as { stopCronJobs(): Promise<void> };
    await router.stopCronJobs();
    const stoppedAt = (await ticks(dev)).length;
    await waitFor(async () => (await ticks(dev)).length >= stoppedAt + 2, `the second process to take the job over:\n${output}`);
    const after = await ticks(dev);
    expect(new Set(after).size, 'no tick ran twice across the take-over').toBe(after.length);
  });

  it('lets a foundation process that never stops its jobs exit at shutdown (its lock session does not hold it)', async () => {
    // The fixture's server.ts closes its server and pool on SIGTERM, and knows nothing of cron.
    const exited = new Promise<number | null>((resolve) => second!.once('exit', (code) => resolve(code)));
    second!.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 10_000))]);
    expect(code, 'the process exits on its own within 10 s').not.toBe('running');
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 8_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
