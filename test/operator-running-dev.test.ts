/**
 * The operator commands while `npm run dev` holds the sandbox's embedded PostgreSQL: they work on
 * the running server (they used to refuse, advising to stop dev), and leave it running.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickPort } from '../sandbox/free-port.ts';
import { ITEMS_MODULE, REPO_ROOT } from './helpers/examples.ts';
import { interrupt, startServer, waitFor } from './helpers/dev-process.ts';

const CLI = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const sandboxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-running-dev-'));
fs.chmodSync(sandboxDir, 0o755);
afterAll(() => fs.rmSync(sandboxDir, { recursive: true, force: true }));

const operator = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--sandbox-dir', sandboxDir], {
  cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DATABASE_URL: '' },
});

describe('operator commands while the sandbox API runs', () => {
  it('tenants, plugins and migrate work on the running dev\'s database, and the API keeps serving', async () => {
    const port = await pickPort();
    const api = startServer({ FOUNDATION_MODULE_DIRS: JSON.stringify([ITEMS_MODULE]), FOUNDATION_API_PORT: String(port), FOUNDATION_SANDBOX_DIR: sandboxDir });
    try {
      await waitFor(`http://127.0.0.1:${port}/health`, api);

      const created = operator(['tenants', 'create', 'globex', '--name', 'Globex']);
      expect(created.stderr + created.stdout).not.toMatch(/Another sandbox is already using/);
      expect(created.status, created.stderr).toBe(0);
      const listed = operator(['tenants', 'list', '--json']);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('globex');
      const status = operator(['migrate', 'status', path.join(REPO_ROOT, 'examples', 'items')]);
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/3 tenant\(s\) and the public schema/);
      const plugins = operator(['plugins', 'list']);
      expect(plugins.status, plugins.stderr).toBe(0);
      expect(plugins.stdout).toContain('items');

      // The API (and its database) still answer, and take on the new tenant (the dev admin holds its role there).
      let answered = 0;
      for (const deadline = Date.now() + 5_000; answered !== 200 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        answered = (await fetch(`http://127.0.0.1:${port}/api/plugins/items/items`, { headers: { 'X-Tenant-Id': 'globex', 'X-User-Id': 'admin@sandbox.dev' } })).status;
      }
      expect(answered).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      await interrupt(api);
    }
  });
});
