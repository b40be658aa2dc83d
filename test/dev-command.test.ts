/**
 * `npm run dev` as a user runs it: a child process in its own process group, stopped the way a
 * terminal's Ctrl-C stops it (SIGINT to the whole group).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickPort } from '../sandbox/free-port.ts';
import { createThrowawayDatabase } from '../testing/index.ts';
import { interrupt, postgresProcessesUsing, startDev, waitFor } from './helpers/dev-process.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-dev-'));
fs.chmodSync(tmp, 0o755);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('npm run dev', () => {
  it('serves the API and the shell on the embedded PostgreSQL, then stops everything on Ctrl-C', async () => {
    const [port, apiPort] = [await pickPort(), await pickPort()];
    const sandboxDir = path.join(tmp, 'embedded');
    const run = startDev(['--port', String(port), '--api-port', String(apiPort), '--sandbox-dir', sandboxDir]);
    try {
      expect(await (await waitFor(`http://127.0.0.1:${apiPort}/api/plugins/items/health`, run)).json()).toMatchObject({ ok: true, plugin: 'items' });
      const page = await (await waitFor(`http://127.0.0.1:${port}/`, run)).text();
      expect(page).toContain('<div id="root">');
      // The shell reaches the API through Vite's proxy, with the dev identity.
      const viaProxy = await fetch(`http://127.0.0.1:${port}/api/plugins/items/items`, { headers: { 'X-Tenant-Id': 'dev', 'X-User-Id': 'admin@sandbox.dev' } });
      expect(viaProxy.status).toBe(200);
      expect(await viaProxy.json()).toEqual({ data: expect.any(Array) });
      // The module list the shell renders comes from the virtual module.
      const modules = await (await waitFor(`http://127.0.0.1:${port}/@id/virtual:foundation-modules`, run)).text();
      expect(modules).toContain('examples/items/client/manifest.ts');

      expect(run.output()).toContain(`http://127.0.0.1:${port}/`);
      expect(run.output()).toContain(`http://127.0.0.1:${apiPort}`);
      expect(run.output()).toMatch(/psql "postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/foundation"/);
    } finally {
      expect([0, 'SIGINT'], run.output()).toContain(await interrupt(run));
    }
    expect(run.output()).toContain('[sandbox] stopped');
    expect(fs.existsSync(path.join(fs.realpathSync(path.join(sandboxDir, 'postgres')), 'postmaster.pid'))).toBe(false);
    expect(postgresProcessesUsing(fs.realpathSync(path.join(sandboxDir, 'postgres')))).toEqual([]);
  }, 150_000);

  it.runIf(!!process.env.TEST_DATABASE_URL)('runs against DATABASE_URL instead, starting no embedded server', async () => {
    const db = await createThrowawayDatabase(process.env.TEST_DATABASE_URL!);
    const [port, apiPort] = [await pickPort(), await pickPort()];
    const sandboxDir = path.join(tmp, 'external');
    const run = startDev(['--port', String(port), '--api-port', String(apiPort), '--sandbox-dir', sandboxDir], { DATABASE_URL: db.url });
    try {
      await waitFor(`http://127.0.0.1:${apiPort}/health`, run);
      await waitFor(`http://127.0.0.1:${port}/`, run);
      const res = await fetch(`http://127.0.0.1:${port}/api/plugins/items/items`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Tenant-Id': 'acme', 'X-User-Id': 'admin@sandbox.dev' },
        body: JSON.stringify({ name: 'on the real server' }),
      });
      expect(res.status).toBe(201);
      expect(run.output()).not.toContain('embedded PostgreSQL');
      expect(fs.existsSync(path.join(sandboxDir, 'postgres'))).toBe(false);
    } finally {
      expect([0, 'SIGINT'], run.output()).toContain(await interrupt(run));
      await db.drop();
    }
  }, 150_000);
});
