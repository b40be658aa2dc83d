/**
 * Issue 15, defect 1: a tenant (or user) must never be reached through another's key. Ids are
 * uuids, codes and emails can't look like one, and every lookup says which it is looking up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';

describe.each(databaseServers())('tenant and user keys on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
  });
  afterAll(() => t?.close());

  it.each([
    ['a uuid', 'abcdef01-2345-6789-abcd-ef0123456789'],
    ['a uuid without dashes', 'abcdef0123456789abcdef0123456789'],
    ['a uuid with dashes elsewhere', 'abcd-ef01-2345-6789-abcd-ef01-2345-6789'],
  ])('the tenant table refuses a code shaped like %s', async (_what, code) => {
    await expect(t.sql(`INSERT INTO sys_tenant (code, name, schema_name) VALUES ($1, 'x', 'tenant_uuidlike')`, [code]))
      .rejects.toThrow(/sys_tenant_code_not_uuid/);
  });

  it('the user table refuses an email that is not one address (so it can never pass for an id)', async () => {
    const { id } = (await t.sandbox.identity.findUserByEmail(ADMIN))!;
    for (const email of [id, 'no-at-sign', 'Upper@Sandbox.dev']) {
      await expect(t.sql(`INSERT INTO sys_user (email, name) VALUES ($1, 'x')`, [email]), email).rejects.toThrow(/sys_user_email_shape/);
    }
  });

  it("reaches tenant A by A's id even when an older row gave tenant B a code equal to A's id", async () => {
    const idOfA = 'abcdef01-2345-4789-abcd-ef0123456789';
    // A database written before the rule: the constraint is dropped, the clash inserted, and the
    // next start puts the rule back (NOT VALID: the old row stays, new ones are refused).
    await t.sql('ALTER TABLE sys_tenant DROP CONSTRAINT IF EXISTS sys_tenant_code_not_uuid');
    await t.sql('COMMENT ON TABLE sys_tenant IS NULL'); // nor did it carry this kit's schema fingerprint
    // B first: a lookup matching either column then meets B's row first.
    await t.sql(`INSERT INTO sys_tenant (code, name, schema_name) VALUES ($1, 'Tenant B', 'tenant_beta')`, [idOfA]);
    await t.sql(`INSERT INTO sys_tenant (id, code, name, schema_name) VALUES ($1, 'alpha', 'Tenant A', 'tenant_alpha')`, [idOfA]);
    await t.sql('CREATE SCHEMA tenant_alpha; CREATE SCHEMA tenant_beta');
    await t.sandbox.rebootstrap();
    await t.grant(ADMIN, 'alpha', ['items.items.read', 'items.items.create']);
    const [beta] = await t.sql<{ id: string }>(`SELECT id::text AS id FROM sys_tenant WHERE schema_name = 'tenant_beta'`);
    await t.grant(ADMIN, beta!.id, ['items.items.read', 'items.items.create']);

    // By A's id, then by A's code, in both cache orders: every request lands in A's schema.
    t.sandbox.tenancy.invalidate();
    const byId = await t.as(ADMIN, idOfA).post(ITEMS).send({ name: 'sent by id' }).expect(201);
    const byCode = await t.as(ADMIN, 'alpha').post(ITEMS).send({ name: 'sent by code' }).expect(201);
    t.sandbox.tenancy.invalidate();
    const listedByCode = (await t.as(ADMIN, 'alpha').get(ITEMS).expect(200)).body.data.map((r: { id: string }) => r.id);
    const listedById = (await t.as(ADMIN, idOfA).get(ITEMS).expect(200)).body.data.map((r: { id: string }) => r.id);
    expect(listedByCode.sort()).toEqual([byId.body.data.id, byCode.body.data.id].sort());
    expect(listedById.sort()).toEqual(listedByCode);
    expect(await t.sql('SELECT name FROM tenant_beta.items_items'), 'rows of A written to B').toEqual([]);
    expect((await t.sql<{ name: string }>('SELECT name FROM tenant_alpha.items_items ORDER BY name')).map((r) => r.name)).toEqual(['sent by code', 'sent by id']);
    // The restart put the rule back.
    expect(await t.sql(`SELECT 1 FROM pg_constraint WHERE conname = 'sys_tenant_code_not_uuid'`)).toHaveLength(1);
  });

  it('looks users up by id or by email, never one for the other', async () => {
    const admin = (await t.sandbox.identity.findUserByEmail(ADMIN))!;
    expect(await t.sandbox.identity.findUser(admin.id)).toEqual(admin);
    expect(await t.sandbox.identity.findUser(admin.id.toUpperCase())).toEqual(admin);
    expect(await t.sandbox.identity.findUser('ADMIN@sandbox.dev')).toEqual(admin);
    expect(await t.sandbox.identity.findUserById(ADMIN)).toBeUndefined();
    expect(await t.sandbox.identity.findUserByEmail(admin.id)).toBeUndefined();
    expect(await t.sandbox.tenancy.findByCode((await t.sandbox.tenancy.get('dev')).id)).toBeUndefined();
    expect(await t.sandbox.tenancy.findById('dev')).toBeUndefined();
  });

  it.each([
    ['a uuid of no tenant', '00000000-0000-4000-8000-000000000000', /does not exist/],
    ['a code of no tenant', 'nowhere', /does not exist/],
    ['upper case', 'DEV', /neither a tenant id \(uuid\) nor a tenant code/],
    ['SQL', "dev' OR '1'='1", /neither a tenant id/],
    ['a NUL', 'dev\u0000', /neither a tenant id/],
    ['32 hex digits', 'abcdef0123456789abcdef0123456789', /neither a tenant id/],
    ['a long value', 'd'.repeat(5000), /neither a tenant id/],
    ['unicode', 'dév', /neither a tenant id/],
  ])('answers 400 UNKNOWN_TENANT for a tenant named by %s, through a token too', async (_what, tenant, message) => {
    const res = await t.request.post('/api/sandbox/token').send({ user: ADMIN, tenant }).expect(400);
    expect(res.body.error).toMatchObject({ code: 'UNKNOWN_TENANT', tenant });
    expect(res.body.error.message).toMatch(message);
    if (!tenant.includes('\u0000') && !/[^\x20-\x7e]/.test(tenant)) {
      const viaHeader = await t.as(ADMIN, tenant).get(ITEMS).expect(400);
      expect(viaHeader.body.error.code).toBe('UNKNOWN_TENANT');
    }
    const token = await t.sandbox.identity.signDevToken({ user: ADMIN, tenant });
    const viaToken = await t.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(400);
    expect(viaToken.body.error.code).toBe('UNKNOWN_TENANT');
  });

  it('names at most ten known tenants when a reference names none', async () => {
    for (let i = 0; i < 12; i += 1) await t.sql(`INSERT INTO sys_tenant (code, name, schema_name) VALUES ($1, 'x', $2)`, [`zz-hint-${i}`, `tenant_zz_hint_${i}`]);
    const res = await t.as(ADMIN, 'nowhere').get(ITEMS).expect(400);
    const listed = /Known tenants: (.*)\.$/.exec(res.body.error.message)![1]!.split(', ');
    expect(listed).toHaveLength(11);
    expect(listed.at(-1)).toBe('…');
  });

  it.each([
    ['a uuid of no user', '00000000-0000-4000-8000-000000000000', /does not exist/],
    ['an unknown email', 'ghost@sandbox.dev', /does not exist/],
    ['no @', 'admin', /neither a user id \(uuid\) nor an email/],
    ['a NUL', 'admin@sandbox.dev\u0000', /neither a user id/],
    ['SQL', "x' OR '1'='1", /neither a user id/],
  ])('answers 401 UNKNOWN_USER for a user named by %s', async (_what, user, message) => {
    const token = await t.sandbox.identity.signDevToken({ user, tenant: 'dev' });
    const res = await t.request.get(ITEMS).set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.body.error).toMatchObject({ code: 'UNKNOWN_USER', user });
    expect(res.body.error.message).toMatch(message);
    const minted = await t.request.post('/api/sandbox/token').send({ user, tenant: 'dev' }).expect(400);
    expect(minted.body.error).toMatchObject({ code: 'UNKNOWN_USER', field: 'user' });
  });
});
