/**
 * Issue 15, defect 5: what turns dev identity off, and what a sandbox with it off accepts. Off:
 * no dev headers, no /api/sandbox/*, no built-in secret; tokens must carry exp; the
 * Authorization header must be exactly "Bearer <token>".
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devIdentityFromEnv, metricsFromEnv } from '../sandbox/env-settings.ts';
import { DEV_JWT_SECRET } from '../sandbox/access/identity.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';
const SECRET = 'a-production-secret-of-32-chars-or-more';

/** A signed token; `exp: null` leaves the expiry out. */
async function token(secret: string, claims: { sub?: string; tid?: string }, { exp = '1h' as string | null, alg = 'HS256' } = {}): Promise<string> {
  let jwt = new SignJWT(claims.tid === undefined ? {} : { tid: claims.tid }).setProtectedHeader({ alg }).setIssuedAt();
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe('what turns dev identity off', () => {
  it.each([
    [{}, true],
    [{ NODE_ENV: 'development' }, true],
    [{ NODE_ENV: 'test' }, true],
    [{ NODE_ENV: 'production' }, false],
    [{ SANDBOX_DEV_IDENTITY: 'off' }, false],
    [{ SANDBOX_DEV_IDENTITY: 'OFF' }, false],
    [{ SANDBOX_DEV_IDENTITY: '0' }, false],
    [{ NODE_ENV: 'production', SANDBOX_DEV_IDENTITY: 'on' }, true],
    [{ NODE_ENV: 'development', SANDBOX_DEV_IDENTITY: 'false' }, false],
  ])('%j → dev identity %s', (env, on) => {
    expect(devIdentityFromEnv(env)).toBe(on);
  });

  it.each(['maybe', 'offf', '2'])('refuses SANDBOX_DEV_IDENTITY=%j naming the variable', (value) => {
    expect(() => devIdentityFromEnv({ SANDBOX_DEV_IDENTITY: value })).toThrow(/SANDBOX_DEV_IDENTITY must be "on" or "off"/);
  });

  it.each([
    [{}, true], [{ SANDBOX_METRICS: '' }, true], [{ SANDBOX_METRICS: 'off' }, false], [{ SANDBOX_METRICS: 'No' }, false],
    [{ SANDBOX_METRICS: 'on' }, true], [{ NODE_ENV: 'production' }, true],
  ])('%j → metrics %s', (env, on) => {
    expect(metricsFromEnv(env)).toBe(on);
  });

  it.each(['maybe', ' of', '-1'])('refuses SANDBOX_METRICS=%j naming the variable', (value) => {
    expect(() => metricsFromEnv({ SANDBOX_METRICS: value })).toThrow(/SANDBOX_METRICS must be "on" or "off"/);
  });
});

describe.each(databaseServers())('a sandbox with dev identity off on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, devIdentityHeaders: false, jwtSecret: SECRET });
  });
  afterAll(() => t?.close());

  it.each([
    ['no secret', undefined, /set SANDBOX_JWT_SECRET/],
    ['the built-in dev secret', DEV_JWT_SECRET, /built-in token secret is not accepted/],
    ['a short secret', 'short-secret', /at least 32/],
  ])('refuses to start with %s', async (_what, jwtSecret, message) => {
    const saved = process.env.SANDBOX_JWT_SECRET;
    delete process.env.SANDBOX_JWT_SECRET;
    try {
      await expect(startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, devIdentityHeaders: false, jwtSecret })).rejects.toThrow(message);
    } finally {
      if (saved !== undefined) process.env.SANDBOX_JWT_SECRET = saved;
    }
  });

  it('accepts a token signed with its secret, with exp', async () => {
    const res = await t.request.get(ITEMS).set('Authorization', `Bearer ${await token(SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' })}`).expect(200);
    expect(res.body.data).toEqual([]);
  });

  it('refuses the dev headers and serves no /api/sandbox routes', async () => {
    const res = await t.as('admin@sandbox.dev', 'dev').get(ITEMS).expect(401);
    expect(res.body.error.message).toMatch(/accepted in dev only/);
    for (const route of ['/api/sandbox/identities', '/api/sandbox/modules', '/api/sandbox/me']) await t.request.get(route).expect(404);
    await t.request.post('/api/sandbox/token').send({ user: 'admin@sandbox.dev', tenant: 'dev' }).expect(404);
  });

  it.each([
    ['a token signed with the built-in dev secret', () => token(DEV_JWT_SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' })],
    ['a token without exp', () => token(SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' }, { exp: null })],
    ['an expired token', () => token(SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' }, { exp: '-1m' })],
    ['a token signed with another algorithm', () => token(SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' }, { alg: 'HS512' })],
    ['an unsigned token', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'admin@sandbox.dev', tid: 'dev', exp: 9e9 })).toString('base64url')}.`],
  ])('refuses %s with 401 INVALID_TOKEN', async (_what, make) => {
    const res = await t.request.get(ITEMS).set('Authorization', `Bearer ${await make()}`).expect(401);
    expect(res.body.error.code).toBe('INVALID_TOKEN');
  });

  it.each([
    (valid: string) => `Bearer ${valid} extra`,
    (valid: string) => `Bearer ${valid} ${valid}`,
    (valid: string) => `Bearer  ${valid}`,
    (valid: string) => `Bearer ${valid}.`,
    (valid: string) => `Basic ${valid}`,
    (valid: string) => `${valid}`,
    () => 'Bearer',
    () => 'Bearer ',
    () => '',
  ])('refuses the Authorization header #%# that is not exactly "Bearer <token>"', async (shape) => {
    const valid = await token(SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' });
    const res = await t.request.get(ITEMS).set('Authorization', shape(valid)).expect(401);
    expect(res.body.error).toMatchObject({ code: 'INVALID_TOKEN' });
    expect(res.body.error.message).toMatch(/Bearer <token>/);
  });

  it('does not list the known tenants to a caller naming an unknown one', async () => {
    const res = await t.request.get(ITEMS).set('Authorization', `Bearer ${await token(SECRET, { sub: 'admin@sandbox.dev', tid: 'nowhere' })}`).expect(400);
    expect(res.body.error.code).toBe('UNKNOWN_TENANT');
    expect(res.body.error.message).not.toMatch(/acme|Known tenants/);
  });

  it('accepts the scheme in any case, as RFC 7235 says', async () => {
    const valid = await token(SECRET, { sub: 'admin@sandbox.dev', tid: 'dev' });
    await t.request.get(ITEMS).set('Authorization', `bearer ${valid}`).expect(200);
  });
});
