/**
 * The API process (sandbox/server.ts) on its own, stopped while requests are held open: one
 * that never answers, one stuck in a database query. It must not wait for them for ever, and
 * must not leave its embedded PostgreSQL running.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pickPort } from '../sandbox/free-port.ts';
import { exitWithin, killGroup, postgresProcessesUsing, startServer, waitFor, waitForOutput, type DevRun } from './helpers/dev-process.ts';
import { moduleVariant } from './helpers/examples.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-server-'));
fs.chmodSync(tmp, 0o755); // when running as root, the PostgreSQL user must reach the data
const moduleDir = moduleVariant({
  'plugin/index.ts': (old) => `import { sql } from 'drizzle-orm';\n${old.replace('registerItemsRoutes(ctx);', `registerItemsRoutes(ctx);
    // Requests that never end: one waits for nothing, one for the database.
    ctx.router.get('/hang', () => {
      console.log('[test] /hang reached');
      return new Promise(() => {});
    });
    ctx.router.get('/sleep', async (req, res) => {
      await ctx.withTenantTx(ctx.auth(req).tenantId, (db) => db.execute(sql\`SELECT pg_sleep(600)\`));
      res.json({ woke: true });
    });`)}`,
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(moduleDir, { recursive: true, force: true });
});

const DEV_IDENTITY = { 'X-Tenant-Id': 'dev', 'X-User-Id': 'admin@sandbox.dev' };

/** A request over a connection of its own; `closed` resolves (with the time) when that connection closes. */
function openRequest(url: string, agent?: http.Agent) {
  const req = http.get(url, { headers: DEV_IDENTITY, agent });
  const answered = new Promise<number>((resolve) => req.once('response', (res) => {
    res.resume();
    res.once('end', () => resolve(res.statusCode!));
  }));
  const closed = new Promise<number>((resolve) => req.once('socket', (socket) => socket.once('close', () => resolve(Date.now()))));
  const failed = new Promise<string>((resolve) => req.once('error', (error) => resolve(error.message)));
  return { answered, closed, failed };
}

async function startApi(sandboxDir: string, graceMs: number): Promise<{ run: DevRun; base: string; dataDir: () => string }> {
  const port = await pickPort();
  const run = startServer({
    FOUNDATION_MODULE_DIRS: JSON.stringify([moduleDir]),
    FOUNDATION_API_PORT: String(port),
    FOUNDATION_SANDBOX_DIR: sandboxDir,
    SANDBOX_SHUTDOWN_GRACE_MS: String(graceMs),
  });
  await waitFor(`http://127.0.0.1:${port}/health`, run);
  return { run, base: `http://127.0.0.1:${port}/api/plugins/items`, dataDir: () => fs.realpathSync(path.join(sandboxDir, 'postgres')) };
}

/** Until the `/sleep` request's query runs in PostgreSQL: then it holds a pooled connection. */
async function untilSleeping(run: DevRun): Promise<void> {
  const url = /psql "([^"]+)"/.exec(run.output())![1]!;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()`);
      if (rows[0].n > 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the /sleep request never reached PostgreSQL');
  } finally {
    await client.end();
  }
}

describe('sandbox/server.ts stopping', () => {
  it('on SIGTERM, closes idle connections at once, gives held requests the grace period, then closes them, the pool and the embedded PostgreSQL, and exits', async () => {
    const graceMs = 2_000;
    const { run, base, dataDir } = await startApi(path.join(tmp, 'grace'), graceMs);
    try {
      // An idle keep-alive connection, left open by its agent after one request.
      const keepAlive = new http.Agent({ keepAlive: true });
      const idle = openRequest(`${base}/health`, keepAlive);
      expect(await idle.answered).toBe(200);
      const hang = openRequest(`${base}/hang`);
      await waitForOutput(run, '[test] /hang reached');
      const sleep = openRequest(`${base}/sleep`);
      await untilSleeping(run);

      const mark = run.output().length;
      process.kill(run.child.pid!, 'SIGTERM'); // the process only, as `kill <pid>` does
      expect(await exitWithin(run, graceMs + 10_000), run.output()).toBe(0);

      // The idle connection went first, the held ones when the grace period was over.
      const [idleClosed, hangClosed, sleepClosed] = await Promise.all([idle.closed, hang.closed, sleep.closed]);
      expect(idleClosed).toBeLessThan(Math.min(hangClosed, sleepClosed));
      expect(await hang.failed).toMatch(/socket hang up|ECONNRESET/);
      expect(await sleep.failed).toMatch(/socket hang up|ECONNRESET/);
      const since = run.output().slice(mark);
      expect(since).toContain(`waiting up to ${graceMs} ms for 2 requests in flight`);
      expect(since).toContain('[sandbox] stopped');
      keepAlive.destroy();

      expect(postgresProcessesUsing(dataDir())).toEqual([]);
      expect(fs.existsSync(path.join(dataDir(), 'postmaster.pid'))).toBe(false);
    } finally {
      await killGroup(run);
    }
  }, 90_000);

  it('on a second SIGTERM during the grace period, stops the embedded PostgreSQL and exits at once', async () => {
    // A grace period far longer than the bound below: only the second signal can end it in time.
    const { run, base, dataDir } = await startApi(path.join(tmp, 'second'), 120_000);
    try {
      const sleep = openRequest(`${base}/sleep`);
      await untilSleeping(run);
      process.kill(run.child.pid!, 'SIGTERM');
      await waitForOutput(run, '[sandbox] SIGTERM: stopping');
      process.kill(run.child.pid!, 'SIGTERM');
      expect(await exitWithin(run, 15_000), run.output()).toBe(1);
      expect(run.output()).toContain('[sandbox] SIGTERM again: stopping now');
      expect(await sleep.failed).toMatch(/socket hang up|ECONNRESET/);
      expect(postgresProcessesUsing(dataDir())).toEqual([]);
    } finally {
      await killGroup(run);
    }
  }, 90_000);
});
