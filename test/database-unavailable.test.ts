/**
 * Issue 25: when the database cannot be reached, plugin requests answer 503 DATABASE_UNAVAILABLE
 * in the error envelope (not 500), `GET /health/ready` answers 503 while `/health` (liveness) stays
 * 200, and both come back once the database does. The database goes away by cutting a TCP relay
 * the sandbox connects through (refused and dropped connections, as when its host is down).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

const ADMIN = 'admin@sandbox.dev';
const ITEMS = '/api/plugins/items/items';

async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(databaseServers())('when the database cannot be reached, on $name PostgreSQL', (server) => {
  let proxy: TcpProxy;
  let t: TestSandbox;
  let itemId: string;
  beforeAll(async () => {
    proxy = await startTcpProxy(server.url);
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: proxy.url(server.url) });
    itemId = (await t.as(ADMIN, 'dev').post(ITEMS).send({ name: 'kept' }).expect(201)).body.data.id;
    // Warm: identity, tenant and permissions are cached, so a request gets as far as its transaction.
    await t.as(ADMIN, 'acme').get(ITEMS).expect(200);
  });
  afterAll(async () => {
    await proxy?.up().catch(() => {});
    await t?.close();
  });

  it('answers readiness 200 while the database answers', async () => {
    const res = await t.request.get('/health/ready').expect(200);
    expect(res.body).toEqual({ ok: true, database: 'ok' });
  });

  describe('with the database gone', () => {
    beforeAll(async () => {
      await proxy.down();
    });

    it.each([
      ['GET', ITEMS, 'dev'],
      ['GET', ITEMS, 'acme'],
      ['POST', ITEMS, 'dev'],
      ['GET', `${ITEMS}/:id`, 'dev'],
      ['DELETE', `${ITEMS}/:id`, 'dev'],
    ] as const)('%s %s in %s answers 503 DATABASE_UNAVAILABLE in the envelope', async (method, route, tenant) => {
      const path = route.replace(':id', itemId);
      const as = t.as(ADMIN, tenant);
      const req = method === 'GET' ? as.get(path) : method === 'POST' ? as.post(path).send({ name: 'lost' }) : as.delete(path);
      const res = await req;
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', message: expect.any(String), requestId: expect.any(String) });
      expect(res.body.error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    });

    it('answers readiness 503 with the envelope, promptly, and liveness 200', async () => {
      const started = Date.now();
      const ready = await t.request.get('/health/ready');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(ready.status).toBe(503);
      expect(ready.body.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', message: expect.any(String) });
      await t.request.get('/health').expect(200);
    });
  });

  it('is ready and serves again once the database is back', async () => {
    await proxy.up();
    await eventually(async () => (await t.request.get('/health/ready')).status === 200, 'ready again');
    const res = await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
    expect(res.body.data.map((row: { id: string }) => row.id)).toContain(itemId);
  });
});
