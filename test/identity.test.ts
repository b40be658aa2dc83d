import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';

describe.each(databaseServers())('request identity on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let strict: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    strict = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, devIdentityHeaders: false, jwtSecret: 'a-secret-for-the-identity-tests-0123456789' });
  });
  afterAll(async () => {
    await t?.close();
    await strict?.close();
  });

  it('accepts a dev token with sub and tid, made by /api/sandbox/token', async () => {
    const { body } = await t.request.post('/api/sandbox/token').send({ user: 'admin@sandbox.dev', tenant: 'acme' }).expect(200);
    await t.request.post(ITEMS).set('Authorization', `Bearer ${body.token}`).send({ name: 'by token' }).expect(201);
    const names = (await t.as('admin@sandbox.dev', 'acme').get(ITEMS).expect(200)).body.data.map((i: { name: string }) => i.name);
    expect(names).toContain('by token');
  });

  it('refuses a forged or malformed token with 401', async () => {
    const { body } = await t.request.post('/api/sandbox/token').send({ user: 'admin@sandbox.dev', tenant: 'dev' }).expect(200);
    const [header, payload] = (body.token as string).split('.');
    const forged = `${header}.${payload}.c2lnbmF0dXJl`;
    expect((await t.request.get(ITEMS).set('Authorization', `Bearer ${forged}`).expect(401)).body.error.code).toBe('INVALID_TOKEN');
    expect((await t.request.get(ITEMS).set('Authorization', 'Basic abc').expect(401)).body.error.code).toBe('INVALID_TOKEN');
  });

  it('refuses an unknown user, and a request naming only one of tenant and user', async () => {
    const unknown = await t.as('ghost@sandbox.dev', 'dev').get(ITEMS).expect(401);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_USER', user: 'ghost@sandbox.dev' });
    const half = await t.request.get(ITEMS).set('X-Tenant-Id', 'dev').expect(401);
    expect(half.body.error.message).toMatch(/tenant but no user/);
  });

  it('tells the shell who the caller is and what they may do', async () => {
    const me = await t.as('admin@sandbox.dev', 'dev').get('/api/sandbox/me').expect(200);
    expect(me.body.tenant.code).toBe('dev');
    expect(me.body.permissions).toEqual(['admin.audit.read', 'admin.config.write', 'admin.migrations.run', 'admin.plugins.kill', 'admin.plugins.read', 'admin.plugins.toggle', 'admin.roles.apply', 'items.items.create', 'items.items.delete', 'items.items.read', 'items.items.update']);
    expect((await t.as('user@sandbox.dev', 'dev').get('/api/sandbox/me').expect(200)).body.permissions).toEqual([]);
    const { body } = await t.request.get('/api/sandbox/identities').expect(200);
    expect(body.tenants.map((x: { code: string }) => x.code)).toEqual(['acme', 'dev']);
    expect(body.users.map((u: { email: string }) => u.email)).toEqual(['admin@sandbox.dev', 'user@sandbox.dev']);
    // The shell opens as the dev admin in tenant dev, as the module README and the docs' curl examples do.
    expect(body.defaults).toEqual({ tenant: 'dev', user: 'admin@sandbox.dev' });
  });

  it('names the loaded modules with their display names for the shell', async () => {
    const { body } = await t.request.get('/api/sandbox/modules').expect(200);
    expect(body).toEqual({ modules: [{ id: 'items', name: 'Items', version: '0.1.0' }] });
  });

  it('refuses dev headers and serves no token route when they are switched off, and still accepts tokens', async () => {
    const res = await strict.as('admin@sandbox.dev', 'dev').get(ITEMS).expect(401);
    expect(res.body.error.message).toMatch(/accepted in dev only/);
    await strict.request.post('/api/sandbox/token').send({ user: 'admin@sandbox.dev', tenant: 'dev' }).expect(404);
    const token = await strict.sandbox.identity.signDevToken({ user: 'admin@sandbox.dev', tenant: 'dev' });
    await strict.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(200);
  });
});
