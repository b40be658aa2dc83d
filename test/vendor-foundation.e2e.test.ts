/**
 * The items module vendored into a copy of the reference foundation and served by it, as the
 * seeds' exit criteria check it: the foundation type-checks with the vendored code and the one
 * bindings edit; health is 200 without identity; a protected route is 403 until the permission is
 * granted, then 2xx; two tenants are isolated; tenant tables have no tenant_id; refusals come in
 * the contract's envelope, not the foundation's own error body.
 *
 * The module's tenant migrations are applied here by the test (each file in each tenant schema):
 * the kit's runner does not read a foundation's own tenant table yet (issue 18, next part).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Express } from 'express';
import pg from 'pg';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../testing/databases.ts';
import { copyReferenceFoundation, editBindings, REPO_ROOT, vendor } from './helpers/reference-foundation.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ITEMS = path.join(REPO_ROOT, 'examples/items');
interface Tenant { id: string; slug: string; schemaName: string }

describe('items vendored into the reference foundation, on the PostgreSQL at TEST_DATABASE_URL', () => {
  let database: ThrowawayDatabase;
  let root: string;
  let pool: pg.Pool;
  let app: Express;
  let dev: Tenant;
  let acme: Tenant;
  let alice: { id: string };
  let bob: { id: string };
  let rbac: { grantPermissions(pool: pg.Pool, who: { userId: string; tenantId: string }, perms: string[]): Promise<void> };
  let jwt: { signToken(who: { userId: string; tenantId: string }): Promise<string> };
  const token = async (user: { id: string }, tenant: Tenant) => `Bearer ${await jwt.signToken({ userId: user.id, tenantId: tenant.id })}`;

  beforeAll(async () => {
    root = copyReferenceFoundation();
    const vendored = await vendor([ITEMS, '--into', root]);
    expect(vendored.code, vendored.lines.join('\n')).toBe(0);
    editBindings(root);

    database = await createThrowawayDatabase(SERVER_URL);
    pool = new pg.Pool({ connectionString: database.url, max: 5 });
    pool.on('error', () => {});
    const load = async <T>(file: string) => (await import(pathToFileURL(path.join(root, 'src', file)).href)) as T;
    (await load<{ setPool(pool: pg.Pool): void }>('lib/db/pool.ts')).setPool(pool);
    await (await load<{ bootstrap(pool: pg.Pool): Promise<void> }>('bootstrap.ts')).bootstrap(pool);
    const tenants = await load<{ createTenant(pool: pg.Pool, slug: string): Promise<Tenant>; createUser(pool: pg.Pool, email: string): Promise<{ id: string }> }>('lib/tenants.ts');
    [dev, acme] = [await tenants.createTenant(pool, 'dev'), await tenants.createTenant(pool, 'acme')];
    [alice, bob] = [await tenants.createUser(pool, 'alice@example.com'), await tenants.createUser(pool, 'bob@example.com')];
    for (const tenant of [dev, acme]) {
      const dir = path.join(root, 'src/modules/items/migrations/tenant');
      for (const file of fs.readdirSync(dir).filter((name) => !name.endsWith('.down.sql')).sort()) {
        await pool.query(`BEGIN; SET LOCAL search_path TO "${tenant.schemaName}", public; ${fs.readFileSync(path.join(dir, file), 'utf8')}; COMMIT`);
      }
    }
    rbac = await load('lib/security/rbac.ts');
    jwt = await load('lib/auth/jwt.ts');
    app = await (await load<{ createApp(): Promise<Express> }>('app.ts')).createApp();
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop().catch(() => {});
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('type-checks: the vendored module, the adapter and the library, with the one bindings edit', () => {
    const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', path.join(root, 'tsconfig.json')], { encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('answers /health without identity', async () => {
    const res = await supertest(app).get('/api/plugins/items/health').expect(200);
    expect(res.body).toEqual({ ok: true, plugin: 'items', version: '0.1.0' });
  });

  it('refuses in the contract\'s envelope until the permission is granted, then serves', async () => {
    const anonymous = await supertest(app).get('/api/plugins/items/items').expect(401);
    expect(anonymous.body.error).toMatchObject({ code: 'UNAUTHENTICATED' });
    const refused = await supertest(app).get('/api/plugins/items/items').set('Authorization', await token(bob, dev)).expect(403);
    expect(refused.body).toEqual({ error: { code: 'FORBIDDEN', message: "You don't have permission items.items.read.", permission: 'items.items.read' } });

    await rbac.grantPermissions(pool, { userId: bob.id, tenantId: dev.id }, ['items.items.read']);
    const listed = await supertest(app).get('/api/plugins/items/items').set('Authorization', await token(bob, dev)).expect(200);
    expect(listed.body).toEqual({ data: [] });
  });

  it('keeps two tenants apart, and stores no tenant_id in tenant tables', async () => {
    const all = ['items.items.read', 'items.items.create', 'items.items.update', 'items.items.delete'];
    await rbac.grantPermissions(pool, { userId: alice.id, tenantId: dev.id }, all);
    await rbac.grantPermissions(pool, { userId: alice.id, tenantId: acme.id }, all);
    const created = await supertest(app).post('/api/plugins/items/items').set('Authorization', await token(alice, dev)).send({ name: 'Only in dev' }).expect(201);
    const inDev = await supertest(app).get('/api/plugins/items/items').set('Authorization', await token(alice, dev)).expect(200);
    const inAcme = await supertest(app).get('/api/plugins/items/items').set('Authorization', await token(alice, acme)).expect(200);
    expect(inDev.body.data.map((row: { id: string }) => row.id)).toContain(created.body.data.id);
    expect(inAcme.body.data).toEqual([]);
    await supertest(app).get(`/api/plugins/items/items/${created.body.data.id}`).set('Authorization', await token(alice, acme)).expect(404);
    const { rows } = await pool.query(`SELECT table_schema FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema IN ($1, $2)`, [dev.schemaName, acme.schemaName]);
    expect(rows).toEqual([]);
  });

  it('answers a client\'s mistakes with the module\'s own codes in the envelope', async () => {
    const invalid = await supertest(app).post('/api/plugins/items/items').set('Authorization', await token(alice, dev)).send({ name: '  ' }).expect(400);
    expect(invalid.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name', message: 'name: must not be empty' });
    const missing = await supertest(app).get('/api/plugins/items/nothing-here').set('Authorization', await token(alice, dev)).expect(404);
    expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND' });
  });
});
