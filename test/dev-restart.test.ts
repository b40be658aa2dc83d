/**
 * `npm run dev` while the module's code is edited: the API restarts on a change, on the same
 * port and the same embedded PostgreSQL; code that does not load leaves the previous API serving.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickPort } from '../sandbox/free-port.ts';
import { devCommandPid, exitWithin, interrupt, killGroup, outputClosed, postgresProcessesUsing, postmasterPid, startDev, waitFor, waitForOutput } from './helpers/dev-process.ts';
import { moduleVariant } from './helpers/examples.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-dev-restart-'));
fs.chmodSync(tmp, 0o755); // when running as root, the PostgreSQL user must reach the data
const moduleDir = moduleVariant({});
// With a route that never answers: a request held open while the API restarts or stops.
const hangingModuleDir = moduleVariant({
  'plugin/index.ts': (old) => old.replace('registerItemsRoutes(ctx);', `registerItemsRoutes(ctx);
    ctx.router.get('/hang', () => {
      console.log('[test] /hang reached');
      return new Promise(() => {});
    });`),
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(moduleDir, { recursive: true, force: true });
  fs.rmSync(hangingModuleDir, { recursive: true, force: true });
});

/** plugin/items.ts with one more route, `GET /<name>` → `{ route: name }`, open to anonymous callers. */
const withRoute = (source: string, name: string) => source.replace(
  "  r.get('/items', ",
  `  r.get('/${name}', (_req, res) => { res.json({ route: '${name}' }); });\n\n  r.get('/items', `,
);

describe('npm run dev, editing the module', () => {
  it('restarts the API on a change, keeps the previous one when the change does not load, and stops everything on Ctrl-C', async () => {
    const [port, apiPort] = [await pickPort(), await pickPort()];
    const sandboxDir = path.join(tmp, 'sandbox');
    const run = startDev([moduleDir, '--port', String(port), '--api-port', String(apiPort), '--sandbox-dir', sandboxDir]);
    const api = `http://127.0.0.1:${apiPort}/api/plugins/items`;
    const itemsFile = path.join(moduleDir, 'plugin', 'items.ts');
    const original = fs.readFileSync(itemsFile, 'utf8');
    let how: number | string | null = 'not interrupted';
    try {
      try {
        await waitFor(`${api}/health`, run);
        expect((await fetch(`${api}/ping`)).status).toBe(404);
        const postgres = postmasterPid(sandboxDir);
        expect(postgres).toBeDefined();

        // A new route: the API restarts and serves it.
        let mark = run.output().length;
        fs.writeFileSync(itemsFile, withRoute(original, 'ping'));
        await waitForOutput(run, '[sandbox] plugin/items.ts changed: restarting the API', mark);
        expect(await (await waitFor(`${api}/ping`, run, 30_000)).json()).toEqual({ route: 'ping' });
        // The new API may answer before its ready line has come through dev's pipes: wait for it.
        await waitForOutput(run, '[sandbox] ready', mark, 15_000);
        // The database was not restarted with it.
        expect(postmasterPid(sandboxDir)).toBe(postgres);

        // A syntax error: the error is printed, and the previous API keeps serving.
        mark = run.output().length;
        fs.writeFileSync(itemsFile, `${withRoute(original, 'ping')}\nexport const broken = ;\n`);
        const notice = await waitForOutput(run, 'the API keeps running the previous code', mark);
        expect(notice).toContain('[sandbox] plugin/items.ts changed but the module does not load');
        expect(notice).toMatch(/plugin\/items\.ts:\d+:\d+/); // where the error is
        expect(notice).not.toContain('[sandbox] ready');
        expect((await fetch(`${api}/ping`)).status).toBe(200);
        const list = await fetch(`${api}/items`, { headers: { 'X-Tenant-Id': 'dev', 'X-User-Id': 'admin@sandbox.dev' } });
        expect(list.status).toBe(200);

        // Fixed: the API restarts again, with the code as it is now.
        mark = run.output().length;
        fs.writeFileSync(itemsFile, withRoute(withRoute(original, 'ping'), 'pong'));
        await waitForOutput(run, 'changed: restarting the API', mark);
        expect(await (await waitFor(`${api}/pong`, run, 30_000)).json()).toEqual({ route: 'pong' });
        expect((await fetch(`${api}/ping`)).status).toBe(200);
        expect(postmasterPid(sandboxDir)).toBe(postgres);

        // A contract violation: the same.
        const indexFile = path.join(moduleDir, 'plugin', 'index.ts');
        const index = fs.readFileSync(indexFile, 'utf8');
        mark = run.output().length;
        fs.writeFileSync(indexFile, index.replace("version: '0.1.0'", "version: 'soon'"));
        expect(await waitForOutput(run, 'the API keeps running the previous code', mark)).toContain('meta.version "soon" of plugin "items" must be a semver version');
        expect((await fetch(`${api}/pong`)).status).toBe(200);
      } finally {
        how = await interrupt(run);
      }
      await outputClosed(run);
      expect([0, 'SIGINT'], run.output()).toContain(how);
      expect(run.output()).toContain('[sandbox] stopped');
      const dataDir = fs.realpathSync(path.join(sandboxDir, 'postgres'));
      expect(postgresProcessesUsing(dataDir)).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    } finally {
      await killGroup(run); // whatever a failure left behind
    }
  }, 180_000);

  it('restarts even while a request is held open (after the grace period), and stops everything on SIGTERM', async () => {
    const [port, apiPort] = [await pickPort(), await pickPort()];
    const sandboxDir = path.join(tmp, 'held');
    const graceMs = 1_000;
    const run = startDev([hangingModuleDir, '--port', String(port), '--api-port', String(apiPort), '--sandbox-dir', sandboxDir], { SANDBOX_SHUTDOWN_GRACE_MS: String(graceMs) });
    const api = `http://127.0.0.1:${apiPort}/api/plugins/items`;
    const itemsFile = path.join(hangingModuleDir, 'plugin', 'items.ts');
    try {
      await waitFor(`${api}/health`, run);
      const held = fetch(`${api}/hang`).then(() => 'answered', (error: Error) => `closed: ${(error.cause as Error)?.message ?? error.message}`);
      await waitForOutput(run, '[test] /hang reached');

      const mark = run.output().length;
      fs.writeFileSync(itemsFile, withRoute(fs.readFileSync(itemsFile, 'utf8'), 'ping'));
      expect(await (await waitFor(`${api}/ping`, run, 30_000)).json()).toEqual({ route: 'ping' });
      await waitForOutput(run, `waiting up to ${graceMs} ms for 1 request in flight`, mark, 15_000);
      expect(await held).toMatch(/^closed: /);

      // SIGTERM to dev alone (as `kill <pid>` sends it), not to its process group.
      process.kill(devCommandPid(run), 'SIGTERM');
      expect(await exitWithin(run, 60_000), run.output()).toBe(0);
      await outputClosed(run);
      expect(run.output()).toContain('[sandbox] stopped');
      expect(postgresProcessesUsing(fs.realpathSync(path.join(sandboxDir, 'postgres')))).toEqual([]);
    } finally {
      await killGroup(run);
    }
  }, 180_000);

  it('stops at once on a second Ctrl-C while a request is held open', async () => {
    const [port, apiPort] = [await pickPort(), await pickPort()];
    const sandboxDir = path.join(tmp, 'second');
    // A grace period far longer than the bound below: only the second Ctrl-C can end it in time.
    const run = startDev([hangingModuleDir, '--port', String(port), '--api-port', String(apiPort), '--sandbox-dir', sandboxDir], { SANDBOX_SHUTDOWN_GRACE_MS: '120000' });
    try {
      await waitFor(`http://127.0.0.1:${apiPort}/health`, run);
      const held = fetch(`http://127.0.0.1:${apiPort}/api/plugins/items/hang`).catch(() => 'closed');
      await waitForOutput(run, '[test] /hang reached');
      process.kill(-run.child.pid!, 'SIGINT');
      // A terminal's one Ctrl-C reaches the API side twice (from the terminal, from dev)
      // within moments; a person's second one comes later.
      await new Promise((r) => setTimeout(r, 1_500));
      process.kill(-run.child.pid!, 'SIGINT');
      expect(await exitWithin(run, 20_000), run.output()).not.toBe('still running');
      await outputClosed(run);
      expect(run.output()).toContain('waiting up to 120000 ms for 1 request in flight');
      expect(run.output()).toContain('[sandbox] SIGINT again: stopping now');
      expect(await held).toBe('closed');
      expect(postgresProcessesUsing(fs.realpathSync(path.join(sandboxDir, 'postgres')))).toEqual([]);
    } finally {
      await killGroup(run);
    }
  }, 180_000);
});
