/**
 * Issue 17, the Host header: a request that names a user but no tenant is in the tenant whose
 * `sys_tenant.domain` its Host names; a tenant named by a token or the dev headers wins, and one
 * that differs from the Host's is refused (403 TENANT_MISMATCH). Host values are sent raw (a
 * socket, not an HTTP client that would check or rewrite them): none of them may cause a 500.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainOfHost } from '../sandbox/access/host-tenant.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { logQueries, otherProcess, within, WITHIN_ONE_SECOND } from './helpers/listener-fixtures.ts';

const ME = '/api/sandbox/me';
const ADMIN = 'admin@sandbox.dev';

interface RawAnswer {
  status: number;
  /** The JSON body, when there is one. */
  body?: { tenant?: { code: string }; error?: { code: string; message: string; requestId?: string } };
}

/** One GET with exactly these header lines (bytes as given, UTF-8), over a socket of its own. */
function rawGet(port: number, path: string, headerLines: string[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
      let body: RawAnswer['body'];
      try {
        body = JSON.parse(payload);
      } catch {
        body = undefined; // Node's own 400 for what its parser refuses has no JSON body
      }
      resolve({ status, body });
    });
    // Not end(): a client that half-closes first may never see its answer.
    socket.write(Buffer.from([`GET ${path} HTTP/1.1`, ...headerLines, 'Connection: close', '', ''].join('\r\n'), 'utf8'));
  });
}

describe('domainOfHost', () => {
  it.each([
    ['dev.localhost', 'dev.localhost'],
    ['DEV.LocalHost', 'dev.localhost'],
    ['dev.localhost:3000', 'dev.localhost'],
    ['dev.localhost.', 'dev.localhost'],
    ['dev.localhost.:8080', 'dev.localhost'],
    ['127.0.0.1', undefined],
    ['127.0.0.1:3000', undefined],
    ['[::1]:3000', undefined],
    ['::1', undefined],
    ['dev.localhost:', undefined],
    ['dev.localhost:abc', undefined],
    ['dev.localhost:123456', undefined],
    // A port is 1–65535 written in digits: anything else is no address a client could have used.
    ['dev.localhost:65535', 'dev.localhost'],
    ['dev.localhost:1', 'dev.localhost'],
    ['dev.localhost:08080', 'dev.localhost'],
    ['dev.localhost:99999', undefined],
    ['dev.localhost:65536', undefined],
    ['dev.localhost:0', undefined],
    ['dev.localhost:00000', undefined],
    ['dev.localhost:-1', undefined],
    ['dev.localhost:+80', undefined],
    ['dev.localhost:1e3', undefined],
    ['dev.localhost:0x50', undefined],
    ['dev.localhost:80.0', undefined],
    ['dev.localhost: 80', undefined],
    ['dev.localhost:٨٠', undefined],
    ['dev.localhost::80', undefined],
    ['[dev.localhost]:80', undefined],
    ['[::ffff:127.0.0.1]:80', undefined],
    ['[::1]:99999', undefined],
    ['dev.localhost:80:80', undefined],
    ['dév.localhost', undefined],
    ['dev..localhost', undefined],
    ['.dev.localhost', undefined],
    ['dev.localhost..', undefined],
    ['-dev.localhost', undefined],
    ['dev_local.host', undefined],
    ['user@dev.localhost', undefined],
    ['dev.localhost/items', undefined],
    ['dev.localhost, acme.localhost', undefined],
    ['', undefined],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
    [`${'a'.repeat(64)}.localhost`, undefined],
    ['x'.repeat(10_000), undefined],
    [undefined, undefined],
  ])('reads %j as %j', (host, domain) => {
    expect(domainOfHost(host)).toBe(domain);
  });
});

describe.each(databaseServers())('the tenant of the Host header on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let http: Server;
  let port: number;
  const get = (host: string | undefined, ...headers: string[]) =>
    rawGet(port, ME, [...(host === undefined ? [] : [`Host: ${host}`]), ...headers]);

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    http = t.sandbox.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => http.once('listening', resolve));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => http?.close(resolve));
    await t?.close();
  });

  it.each([
    // [Host, status, tenant or error code]
    ['dev.localhost', 200, 'dev'],
    ['acme.localhost', 200, 'acme'],
    ['ACME.LOCALHOST', 200, 'acme'],
    ['acme.localhost:3000', 200, 'acme'],
    ['acme.localhost.', 200, 'acme'],
    ['acme.localhost.:443', 200, 'acme'],
    ['127.0.0.1', 401, 'UNAUTHENTICATED'],
    ['127.0.0.1:3000', 401, 'UNAUTHENTICATED'],
    ['[::1]:3000', 401, 'UNAUTHENTICATED'],
    ['[::1]', 401, 'UNAUTHENTICATED'],
    ['localhost', 401, 'UNAUTHENTICATED'],
    ['other.example.com', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:abc', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:99999999', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:99999', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:65536', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:0', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:-1', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:1e3', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:', 401, 'UNAUTHENTICATED'],
    ['acme.localhost:65535', 200, 'acme'],
    ['acme.localhost, dev.localhost', 401, 'UNAUTHENTICATED'],
    ['acme..localhost', 401, 'UNAUTHENTICATED'],
    ['acme.localhost/api', 401, 'UNAUTHENTICATED'],
    ['admin@acme.localhost', 401, 'UNAUTHENTICATED'],
    ["acme.localhost'; DROP TABLE sys_tenant; --", 401, 'UNAUTHENTICATED'],
    ['ácme.localhost', 401, 'UNAUTHENTICATED'],
    ['日本.localhost', 401, 'UNAUTHENTICATED'],
    ['xn--cme-4la.localhost', 401, 'UNAUTHENTICATED'],
    [`${'a'.repeat(300)}.localhost`, 401, 'UNAUTHENTICATED'],
    ['a.'.repeat(4_000), 401, 'UNAUTHENTICATED'],
    ['', 401, 'UNAUTHENTICATED'],
  ] as const)('Host %j with a user and no tenant: %i %s', async (host, status, expected) => {
    const answer = await get(host, `X-User-Id: ${ADMIN}`);
    expect(answer.status).toBe(status);
    if (status === 200) expect(answer.body?.tenant?.code).toBe(expected);
    else expect(answer.body?.error).toMatchObject({ code: expected, requestId: expect.any(String) });
  });

  it('answers what Node\'s HTTP parser lets through without a 500, and no Host at all with Node\'s 400', async () => {
    for (const host of ['\tdev.localhost', 'dev.localhost ', 'dev\u0001.localhost', 'dev.localhost\u007f']) {
      const answer = await get(host, `X-User-Id: ${ADMIN}`);
      expect(answer.status, JSON.stringify(host)).toBeGreaterThanOrEqual(200);
      expect(answer.status, JSON.stringify(host)).toBeLessThan(500);
    }
    expect((await get(undefined, `X-User-Id: ${ADMIN}`)).status).toBe(400);
  });

  it('lets the tenant of the dev headers or of a token win over a Host that names none, and refuses one that differs from the Host\'s', async () => {
    expect((await get('127.0.0.1', `X-User-Id: ${ADMIN}`, 'X-Tenant-Id: acme')).body?.tenant?.code).toBe('acme');
    expect((await get('acme.localhost', `X-User-Id: ${ADMIN}`, 'X-Tenant-Id: acme')).body?.tenant?.code).toBe('acme');
    const mismatch = await get('dev.localhost', `X-User-Id: ${ADMIN}`, 'X-Tenant-Id: acme');
    expect(mismatch.status).toBe(403);
    expect(mismatch.body?.error).toMatchObject({ code: 'TENANT_MISMATCH', requestId: expect.any(String) });
    expect(mismatch.body?.error?.message).toMatch(/names tenant acme, but its Host "dev\.localhost" is tenant dev's/);

    const token = (await t.request.post('/api/sandbox/token').send({ user: ADMIN, tenant: 'acme' }).expect(200)).body.token as string;
    expect((await get('acme.localhost', `Authorization: Bearer ${token}`)).body?.tenant?.code).toBe('acme');
    expect((await get('dev.localhost', `Authorization: Bearer ${token}`)).body?.error?.code).toBe('TENANT_MISMATCH');
    // A tenant with no user is still refused, Host or not: the Host names where, never who.
    expect((await get('acme.localhost')).status).toBe(401);
    expect((await get('acme.localhost', 'X-Tenant-Id: acme')).body?.error?.code).toBe('UNAUTHENTICATED');
  });

  it('serves plugin routes in the Host\'s tenant, and remembers domains, known or not, without a query per request', async () => {
    await t.as(ADMIN, 'acme').post('/api/plugins/items/items').send({ name: 'acme by host' }).expect(201);
    const list = await t.request.get('/api/plugins/items/items').set('Host', 'acme.localhost').set('X-User-Id', ADMIN).expect(200);
    expect(list.body.data.map((i: { name: string }) => i.name)).toContain('acme by host');
    await get('nobody.example.com', `X-User-Id: ${ADMIN}`);
    const log = logQueries(t.sandbox.database.pool);
    try {
      await get('acme.localhost', `X-User-Id: ${ADMIN}`);
      await get('nobody.example.com', `X-User-Id: ${ADMIN}`);
      expect(log.texts.filter((text) => /sys_tenant/.test(text))).toEqual([]);
    } finally {
      log.stop();
    }
  });

  it('follows a domain given to a tenant by another process within one second, though it was remembered as nobody\'s', async () => {
    const other = await otherProcess(t.database.url);
    try {
      expect((await get('shop.example.com', `X-User-Id: ${ADMIN}`)).status).toBe(401);
      await other.query(`UPDATE sys_tenant SET domain = 'shop.example.com' WHERE code = 'dev'`);
      await within(WITHIN_ONE_SECOND, 'the new domain serves tenant dev', async () => {
        const seen = (await get('shop.example.com', `X-User-Id: ${ADMIN}`)).body?.tenant?.code;
        return { ok: seen === 'dev', seen };
      });
      expect((await get('dev.localhost', `X-User-Id: ${ADMIN}`)).status).toBe(401); // the old one is no one's now
    } finally {
      await other.query(`UPDATE sys_tenant SET domain = 'dev.localhost' WHERE code = 'dev'`);
      await other.close();
    }
  });
});
