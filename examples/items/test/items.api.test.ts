import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, DEV_USERS, expectTenantIsolation, startTestHost, type TestHost } from 'create-foundation-module/testing';

const moduleDir = fileURLToPath(new URL('..', import.meta.url));
const path = '/api/plugins/items/items';
const admin = DEV_USERS.admin.email; // every permission, in every dev tenant
const user = DEV_USERS.user.email; // no permission until granted

// Each suite runs on the embedded PostgreSQL, and on TEST_DATABASE_URL as well when it is set. The
// host is the sandbox; with FOUNDATION_ROOT=<foundation> set, the foundation this module is
// vendored into (docs/vendoring.md): the same tests, unchanged.
describe.each(databaseServers())('Items API on $name PostgreSQL', (server) => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({ moduleDirs: [moduleDir], serverUrl: server.url });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a user without items.items.read, then lists the tenant\'s items once it is granted', async () => {
    const created = await t.as(admin, 'dev').post(path).send({ name: 'Listed once granted' }).expect(201);
    const refused = await t.as(user, 'dev').get(path).expect(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'items.items.read' });

    await t.grant(user, 'dev', ['items.items.read']);
    const listed = await t.as(user, 'dev').get(path).expect(200);
    expect(listed.body.data).toContainEqual(created.body.data);
  });

  it('creates an item, then lists, reads, updates and deletes it', async () => {
    const created = await t.as(admin, 'dev').post(path).send({ name: 'First item' }).expect(201);
    const id: string = created.body.data.id;
    expect(created.body.data).toMatchObject({ name: 'First item', description: null });

    const listed = await t.as(admin, 'dev').get(path).expect(200);
    expect(listed.body.data.map((row: { id: string }) => row.id)).toContain(id);
    const read = await t.as(admin, 'dev').get(`${path}/${id}`).expect(200);
    expect(read.body.data).toEqual(created.body.data);

    const updated = await t.as(admin, 'dev').patch(`${path}/${id}`).send({ description: 'Changed' }).expect(200);
    expect(updated.body.data).toMatchObject({ id, name: 'First item', description: 'Changed' });

    await t.as(admin, 'dev').delete(`${path}/${id}`).expect(204);
    await t.as(admin, 'dev').get(`${path}/${id}`).expect(404);
  });

  it('refuses invalid input with 400 naming the field, and stores nothing', async () => {
    const before = (await t.as(admin, 'dev').get(path).expect(200)).body.data.length;

    const empty = await t.as(admin, 'dev').post(path).send({ name: '  ' }).expect(400);
    expect(empty.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name', message: 'name: must not be empty' });
    const missing = await t.as(admin, 'dev').post(path).send({ description: 'No name' }).expect(400);
    expect(missing.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name', message: 'name: is required' });
    const noBody = await t.as(admin, 'dev').post(path).expect(400);
    expect(noBody.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body', message: 'body: is required: send a JSON object' });
    const unknown = await t.as(admin, 'dev').post(path).send({ name: 'Ok', colour: 'red' }).expect(400);
    expect(unknown.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'colour' });
    await t.as(admin, 'dev').get(`${path}/not-a-uuid`).expect(400);

    expect((await t.as(admin, 'dev').get(path).expect(200)).body.data).toHaveLength(before);
  });

  it('keeps each tenant\'s items apart, through the API and in the database', async () => {
    await expectTenantIsolation(t, { path, table: 'items_items', create: { name: 'Only in dev' } });
  });
});
