/**
 * Issue 17, the hot path: once identity, tenants, users and permission sets are cached, a request
 * is judged without a promise or a query (identity's `warmIdentity`, rbac's sync check). That
 * shortcut may only ever say yes where the full check says yes: each case below is asked three
 * times (the first may run cold, the others run warm) and must get the same answer each time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';

interface Known { devToken: string; devId: string; adminId: string }
type Case = [name: string, headers: (known: Known) => Record<string, string>, status: number, codeOrTenant: string];

const CASES: Case[] = [
  ['a bearer token', ({ devToken }) => ({ Authorization: `Bearer ${devToken}` }), 200, 'dev'],
  ['dev headers', () => ({ 'X-User-Id': ADMIN, 'X-Tenant-Id': 'dev' }), 200, 'dev'],
  ['an email in upper case', () => ({ 'X-User-Id': ADMIN.toUpperCase(), 'X-Tenant-Id': 'dev' }), 200, 'dev'],
  ['ids instead of email and code, in upper case', ({ adminId, devId }) => ({ 'X-User-Id': adminId.toUpperCase(), 'X-Tenant-Id': devId.toUpperCase() }), 200, 'dev'],
  ['a user and the Host of a tenant', () => ({ 'X-User-Id': ADMIN, Host: 'acme.localhost' }), 200, 'acme'],
  ['a tenant and its own Host', () => ({ 'X-User-Id': ADMIN, 'X-Tenant-Id': 'acme', Host: 'ACME.localhost:3000' }), 200, 'acme'],
  ['a token of dev at the Host of acme', ({ devToken }) => ({ Authorization: `Bearer ${devToken}`, Host: 'acme.localhost' }), 403, 'TENANT_MISMATCH'],
  ['dev headers of dev at the Host of acme', () => ({ 'X-User-Id': ADMIN, 'X-Tenant-Id': 'dev', Host: 'acme.localhost' }), 403, 'TENANT_MISMATCH'],
  ['a user and a Host that is no tenant\'s', () => ({ 'X-User-Id': ADMIN, Host: '127.0.0.1' }), 401, 'UNAUTHENTICATED'],
  ['a tenant and no user', () => ({ 'X-Tenant-Id': 'dev' }), 401, 'UNAUTHENTICATED'],
  ['nobody', () => ({}), 401, 'UNAUTHENTICATED'],
  ['an unknown user', () => ({ 'X-User-Id': 'nobody@sandbox.dev', 'X-Tenant-Id': 'dev' }), 401, 'UNKNOWN_USER'],
  ['an unknown tenant', () => ({ 'X-User-Id': ADMIN, 'X-Tenant-Id': 'nowhere' }), 400, 'UNKNOWN_TENANT'],
  ['a user without the permission', () => ({ 'X-User-Id': USER, 'X-Tenant-Id': 'dev' }), 403, 'FORBIDDEN'],
  ['a malformed Authorization', ({ devToken }) => ({ Authorization: `Bearer ${devToken} extra` }), 401, 'INVALID_TOKEN'],
  ['the cached token with another signature', ({ devToken }) => ({ Authorization: `Bearer ${devToken.slice(0, devToken.lastIndexOf('.'))}.${'A'.repeat(43)}` }), 401, 'INVALID_TOKEN'],
];

describe.each(databaseServers())('the warm path answers as the full check on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let strict: TestSandbox;
  let devToken: string;
  let devId: string;
  let adminId: string;

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    strict = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, devIdentityHeaders: false, jwtSecret: 'a-secret-for-the-warm-path-tests-0123456789' });
    devToken = await t.sandbox.identity.signDevToken({ user: ADMIN, tenant: 'dev' });
    devId = (await t.sandbox.tenancy.get('dev')).id;
    adminId = (await t.sandbox.identity.findUser(ADMIN))!.id;
  });
  afterAll(async () => {
    await t?.close();
    await strict?.close();
  });
  const itemCount = async (tenant: string) => ((await t.sql(`SELECT count(*)::int AS n FROM tenant_${tenant}.items_items`))[0] as { n: number }).n;

  it.each(CASES)('%s', async (name, headersOf, status, expected) => {
    const headers = headersOf({ devToken, devId, adminId });
    const request = () => {
      const test = t.request.get(ITEMS);
      for (const [header, value] of Object.entries(headers)) test.set(header, value);
      return test;
    };
    for (let asked = 1; asked <= 3; asked++) {
      const res = await request();
      expect(res.status, `${name}, asked ${asked} times`).toBe(status);
      if (status !== 200) expect(res.body.error.code, `${name}, asked ${asked} times`).toBe(expected);
      // The answer is the tenant's own list, not another's.
      else expect(res.body.data).toHaveLength(await itemCount(expected));
    }
  });

  it('refuses a cached token once it has expired', async () => {
    const token = await t.sandbox.identity.signDevToken({ user: ADMIN, tenant: 'dev' }, '2s');
    await t.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(200);
    await t.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(200);
    await sleep(3_100);
    const res = await t.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.body.error).toMatchObject({ code: 'INVALID_TOKEN', message: expect.stringMatching(/"exp"/) });
  });

  it('refuses dev headers where they are off, even when the token before them cached the same user and tenant', async () => {
    const token = await strict.sandbox.identity.signDevToken({ user: ADMIN, tenant: 'dev' });
    await strict.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(200);
    await strict.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(200);
    for (let asked = 1; asked <= 2; asked++) {
      const res = await strict.as(ADMIN, 'dev').get(ITEMS).expect(401);
      expect(res.body.error.message).toMatch(/accepted in dev only/);
    }
  });
});
