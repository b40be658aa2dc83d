/**
 * Issue 15, defect 4: the dev API trusts identity headers, so only pages served from this machine
 * may call it from a browser, unless the developer names other origins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corsOriginsFromEnv } from '../sandbox/env-settings.ts';
import { isLoopbackOrigin } from '../sandbox/http/cors.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';

const ALLOWED = ['http://localhost:5173', 'http://127.0.0.1:5173', 'http://[::1]:3000', 'http://localhost', 'https://localhost:8443', 'http://dev.localhost:5173'];
const REFUSED = [
  'https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.evil.example', 'http://evil.example:5173',
  'null', 'file://', 'http://127.0.0.2:5173', 'http://0.0.0.0:5173', 'http://[::2]:3000', 'ftp://localhost', 'http://localhost:5173/path',
  'http://user@localhost:5173', 'chrome-extension://abcdef', 'HTTP://LOCALHOST:5173', '', 'http://localhost:99999',
];

describe('loopback origins', () => {
  it.each(ALLOWED)('counts %j as loopback', (origin) => expect(isLoopbackOrigin(origin)).toBe(true));
  it.each(REFUSED)('does not count %j as loopback', (origin) => expect(isLoopbackOrigin(origin)).toBe(false));

  it('reads SANDBOX_CORS_ORIGINS: loopback by default, else exact origins, refusing anything else', () => {
    expect(corsOriginsFromEnv({})).toBe('loopback');
    expect(corsOriginsFromEnv({ SANDBOX_CORS_ORIGINS: 'loopback' })).toBe('loopback');
    expect(corsOriginsFromEnv({ SANDBOX_CORS_ORIGINS: 'https://shell.example.test, http://10.0.0.5:5173' })).toEqual(['https://shell.example.test', 'http://10.0.0.5:5173']);
    for (const bad of ['*', 'shell.example.test', 'https://shell.example.test/', 'http://a.test,', 'javascript:alert(1)']) {
      expect(() => corsOriginsFromEnv({ SANDBOX_CORS_ORIGINS: bad }), bad).toThrow(/SANDBOX_CORS_ORIGINS/);
    }
  });
});

describe.each(databaseServers())('CORS of the sandbox API on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let named: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    named = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, corsOrigins: ['https://shell.example.test'] });
  });
  afterAll(async () => {
    await t?.close();
    await named?.close();
  });

  it.each(ALLOWED)('lets the page at %j call the API, and answers its preflight', async (origin) => {
    const res = await t.as('admin@sandbox.dev', 'dev').get(ITEMS).set('Origin', origin).expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    const preflight = await t.request.options(ITEMS).set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'x-tenant-id, x-user-id, content-type').expect(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
  });

  it.each(REFUSED.filter((origin) => origin !== ''))('refuses the page at %j with 403, before any route runs', async (origin) => {
    const res = await t.as('admin@sandbox.dev', 'dev').post(ITEMS).set('Origin', origin).send({ name: 'from a website' }).expect(403);
    expect(res.body.error).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED', origin });
    expect(res.body.error.message).toContain('SANDBOX_CORS_ORIGINS');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await t.request.options(ITEMS).set('Origin', origin).set('Access-Control-Request-Method', 'POST');
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const stored = await t.sql(`SELECT 1 FROM tenant_dev.items_items WHERE name = 'from a website'`);
    expect(stored).toEqual([]);
  });

  it('serves requests without an Origin (curl, servers, the shell through its proxy) as before', async () => {
    await t.as('admin@sandbox.dev', 'dev').get(ITEMS).expect(200);
  });

  it('allows exactly the configured origins when some are named', async () => {
    const ok = await named.as('admin@sandbox.dev', 'dev').get(ITEMS).set('Origin', 'https://shell.example.test').expect(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://shell.example.test');
    await named.as('admin@sandbox.dev', 'dev').get(ITEMS).set('Origin', 'http://localhost:5173').expect(403);
    await named.as('admin@sandbox.dev', 'dev').get(ITEMS).set('Origin', 'https://shell.example.test:444').expect(403);
  });
});
