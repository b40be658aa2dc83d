/**
 * A foundation's permission middleware that fails: the vendored adapter answers the contract's
 * envelope however it fails (a rejected promise, as an async middleware whose database refuses
 * connections; a throw; next(error)), and the foundation process stays up. The reference
 * foundation runs as its own process (src/server.ts), with a variant of its bindings
 * (maintainer/failing-rbac-bindings.ts) whose requirePermission fails the way the request's
 * X-Rbac-Failure header says; the open-routes fixture module's GET /deliveries requires a permission.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers } from '../testing/index.ts';
import { startReferenceFoundation, type FoundationInstance } from './helpers/foundation-instance.ts';
import { REPO_ROOT } from './helpers/reference-foundation.ts';

const OPEN_ROUTES = path.join(REPO_ROOT, 'test/fixtures/modules/open-routes');
const API = '/api/plugins/open-routes';

const FAILURES = [
  { failure: 'database-down', how: 'an async middleware whose database refuses connections (its promise rejects)', status: 503, code: 'DATABASE_UNAVAILABLE' },
  { failure: 'rejects', how: 'an async middleware whose promise rejects', status: 500, code: 'INTERNAL' },
  { failure: 'throws', how: 'a middleware that throws', status: 500, code: 'INTERNAL' },
  { failure: 'next-error', how: 'a middleware that calls next(error)', status: 500, code: 'INTERNAL' },
];

describe.each(databaseServers())('a foundation whose permission middleware fails, running as its own process, on $name PostgreSQL', (database) => {
  let f: FoundationInstance;
  let server: ChildProcess | undefined;
  let output = '';
  let base: string;
  let authorization: string;

  beforeAll(async () => {
    f = await startReferenceFoundation({ modules: [OPEN_ROUTES], serverUrl: database.url, bindings: 'failing-rbac-bindings.ts' });
    await f.grant(f.users.alice, f.tenants.dev, ['open-routes.deliveries.read']);
    const { signToken } = await f.load<{ signToken(who: { userId: string; tenantId: string }): Promise<string> }>('lib/auth/jwt.ts');
    authorization = `Bearer ${await signToken({ userId: f.users.alice.id, tenantId: f.tenants.dev.id })}`;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: f.root, env: { ...process.env, DATABASE_URL: f.databaseUrl, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (chunk) => (output += chunk));
    server.stderr!.on('data', (chunk) => (output += chunk));
    await waitFor(() => output.includes('listening') || server!.exitCode !== null, 20_000);
    expect(server.exitCode, `the foundation process to start:\n${output}`).toBeNull();
  });

  afterAll(async () => {
    server?.kill('SIGKILL');
    await f?.close();
  });

  const deliveries = () => supertest(base).get(`${API}/deliveries`).set('Authorization', authorization).timeout(10_000);

  it('serves the route when the middleware does not fail', async () => {
    const res = await deliveries().expect(200);
    expect(res.body).toEqual({ data: [] });
  });

  it.each(FAILURES)('$how: answers $status $code with a requestId, logs it, and the process serves the next request', async ({ failure, status, code }) => {
    const res = await deliveries().set('X-Rbac-Failure', failure);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
    expect(res.headers['x-request-id']).toBe(res.body.error.requestId);
    if (status === 503) expect(res.headers['retry-after']).toBe('5');
    // Nothing of the failure shows: the middleware's words and the database's address stay in the log.
    expect(JSON.stringify(res.body)).not.toMatch(/rbac:|127\.0\.0\.1|ECONNREFUSED| at /);
    await waitFor(() => output.includes(res.body.error.requestId), 5_000);
    expect(output, 'the server log names the request').toContain(res.body.error.requestId);

    expect(server!.exitCode, `the foundation process is still running:\n${output}`).toBeNull();
    await deliveries().expect(200);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
}
