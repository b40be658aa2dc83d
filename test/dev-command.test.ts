/**
 * `npm run dev` as a user runs it: a child process in its own process group, stopped the way a
 * terminal's Ctrl-C stops it (SIGINT to the whole group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickPort } from '../sandbox/free-port.ts';
import { createThrowawayDatabase } from '../testing/index.ts';
import { REPO_ROOT } from './helpers/examples.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-dev-'));
fs.chmodSync(tmp, 0o755);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface DevRun {
  child: ChildProcess;
  output: () => string;
  /** The exit code, or the signal that ended it. */
  exited: Promise<number | string | null>;
}

function startDev(args: string[], env: NodeJS.ProcessEnv = {}): DevRun {
  let output = '';
  const child = spawn('npm', ['run', 'dev', '--', ...args], {
    cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: '', FORCE_COLOR: '0', ...env },
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, output: () => output, exited };
}

async function waitFor(url: string, run: DevRun, timeoutMs = 90_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`dev exited early (${run.child.exitCode}):\n${run.output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return res;
      last = `${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} never answered 200 (last: ${last}). Output:\n${run.output()}`);
}

/**
 * Ctrl-C: SIGINT to the process group. Resolves with how it ended: our command exits 0, and npm
 * then re-raises the SIGINT it received (as shells expect of an interrupted program).
 */
async function interrupt(run: DevRun): Promise<number | string | null> {
  process.kill(-run.child.pid!, 'SIGINT');
  const timeout = setTimeout(() => process.kill(-run.child.pid!, 'SIGKILL'), 30_000);
  const code = await run.exited;
  clearTimeout(timeout);
  return code;
}

function postgresProcessesUsing(dir: string): string[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return cmd.includes('postgres') && cmd.includes(dir) ? [`${pid}: ${cmd}`] : [];
    } catch {
      return [];
    }
  });
}

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
