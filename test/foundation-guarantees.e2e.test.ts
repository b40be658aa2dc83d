/**
 * Each guarantee the foundation adapter (foundation-lib/plugin-router.ts) adds on top of a
 * foundation's own pieces, proven where the foundation lacks it: the reference foundation's
 * withTenantTx knows nothing of nesting (a nested Drizzle transaction would end it, a nested call
 * takes a second connection), it has no event bus, and its errors are `{ message, statusCode }`.
 * The guarantees fixture module (test/fixtures/modules/guarantees) is vendored in, and each route
 * of it leans on one guarantee; the test checks what the route answers and what the database
 * holds. The enablement gate (PLUGIN_DISABLED) is not tested here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startReferenceFoundation, type FoundationInstance, type FoundationTenant } from './helpers/foundation-instance.ts';
import { copyReferenceFoundation, editBindings, REPO_ROOT, vendor } from './helpers/reference-foundation.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GUARANTEES = path.join(REPO_ROOT, 'test/fixtures/modules/guarantees');
const UNDECLARED = path.join(REPO_ROOT, 'test/fixtures/modules/undeclared-permission');
const API = '/api/plugins/guarantees';
const ALL = ['guarantees.entries.read', 'guarantees.entries.write'];

interface Entry extends Record<string, unknown> { step: string; xact_id: string }
/** The foundation's own tenant transaction (src/lib/db/tenant-db.ts), with the slice of Drizzle used here. */
interface OwnTenantDb {
  withTenantTx<T>(tenantId: string, run: (db: OwnDb) => Promise<T>): Promise<T>;
}
interface OwnDb {
  execute(query: unknown): Promise<{ rows: Record<string, unknown>[] }>;
  transaction<T>(run: (tx: OwnDb) => Promise<T>): Promise<T>;
}

describe('the contract\'s guarantees, in the reference foundation that lacks them itself (PostgreSQL at TEST_DATABASE_URL)', () => {
  let f: FoundationInstance;
  let dev: FoundationTenant;
  let acme: FoundationTenant;
  const alice = (tenant: FoundationTenant) => f.as(f.users.alice, tenant);
  /** The entries of `marker` in `tenant`'s schema, read by SQL, in the order written. */
  const entriesOf = (tenant: FoundationTenant, marker: string) =>
    f.sql<Entry>(`SELECT step, xact_id FROM "${tenant.schemaName}".guarantees_entries WHERE marker = $1 ORDER BY id`, [marker]);

  beforeAll(async () => {
    f = await startReferenceFoundation({ modules: [GUARANTEES], serverUrl: SERVER_URL });
    ({ dev, acme } = f.tenants);
    await f.grant(f.users.alice, dev, ALL);
    await f.grant(f.users.alice, acme, ALL);
  });

  afterAll(async () => {
    await f?.close();
  });

  describe('a nested db.transaction() is a savepoint', () => {
    it('whose inner part throws: the inner row is rolled back, the outer ones before and after it are kept, in one transaction', async () => {
      const res = await alice(dev).post(`${API}/savepoint`).send({ marker: 'sp-inner-fails', inner: 'fail' }).expect(201);
      expect(res.body.data).toEqual({ innerError: 'Error: the inner part fails', oneTransaction: true });
      const rows = await entriesOf(dev, 'sp-inner-fails');
      expect(rows.map((row) => row.step)).toEqual(['outer-before', 'outer-after']);
      expect(rows[0]!.xact_id).toBe(rows[1]!.xact_id);
    });

    it('whose inner part calls tx.rollback(): the same, the rollback reaching the route as Drizzle\'s own error', async () => {
      const res = await alice(dev).post(`${API}/savepoint`).send({ marker: 'sp-inner-rollback', inner: 'rollback' }).expect(201);
      expect(res.body.data).toEqual({ innerError: 'DrizzleError: Rollback', oneTransaction: true });
      expect((await entriesOf(dev, 'sp-inner-rollback')).map((row) => row.step)).toEqual(['outer-before', 'outer-after']);
    });

    it('whose inner part succeeds: all three rows kept, written in the one outer transaction', async () => {
      const res = await alice(dev).post(`${API}/savepoint`).send({ marker: 'sp-inner-commits', inner: 'commit' }).expect(201);
      expect(res.body.data).toEqual({ innerError: null, oneTransaction: true });
      const rows = await entriesOf(dev, 'sp-inner-commits');
      expect(rows.map((row) => row.step)).toEqual(['outer-before', 'inner', 'outer-after']);
      expect(new Set(rows.map((row) => row.xact_id)).size).toBe(1);
    });

    it('that rolled back does not end the outer transaction: when the outer one then fails, nothing of it is kept', async () => {
      const res = await alice(dev).post(`${API}/savepoint`).send({ marker: 'sp-outer-fails', inner: 'fail', outer: 'fail' }).expect(422);
      expect(res.body).toEqual({ error: { code: 'OUTER_FAILED', message: 'The outer transaction fails on purpose, after its nested one.', requestId: expect.any(String) } });
      expect(await entriesOf(dev, 'sp-outer-fails')).toEqual([]);
    });

    it('which the foundation\'s own handle is not: there, the inner ROLLBACK ends the outer transaction, its row and its search_path', async () => {
      // The control: the same nesting on the foundation's own withTenantTx, without the adapter.
      // Drizzle sends BEGIN (a no-op warning) and ROLLBACK, which ends the outer transaction; the
      // next statement runs outside it, with the default search_path, where the table is not.
      const own = await f.load<OwnTenantDb>('lib/db/tenant-db.ts');
      const outcome = await own.withTenantTx(dev.id, async (db) => {
        await db.execute(sql`INSERT INTO guarantees_entries (marker, step) VALUES ('sp-control', 'outer-before')`);
        await db.transaction(async (tx) => {
          await tx.execute(sql`INSERT INTO guarantees_entries (marker, step) VALUES ('sp-control', 'inner')`);
          throw new Error('the inner part fails');
        }).catch(() => {});
        await db.execute(sql`INSERT INTO guarantees_entries (marker, step) VALUES ('sp-control', 'outer-after')`);
        return 'committed';
      }).catch((error: Error) => error);
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).cause).toMatchObject({ code: '42P01', message: 'relation "guarantees_entries" does not exist' });
      expect(await entriesOf(dev, 'sp-control')).toEqual([]);
    });
  });

  describe('a nested ctx.withTenantTx', () => {
    it('of the same tenant runs in the outer transaction (a savepoint on its connection): it sees the outer\'s uncommitted row', async () => {
      const res = await alice(dev).post(`${API}/nested-tenant-tx`).send({ marker: 'ntx-commits', inner: 'commit' }).expect(201);
      expect(res.body.data).toEqual({ innerSawOuterRow: true, innerInSameTransaction: true, innerError: null, otherTenantError: null, oneTransaction: true });
      const rows = await entriesOf(dev, 'ntx-commits');
      expect(rows.map((row) => row.step)).toEqual(['outer-before', 'inner', 'outer-after']);
      expect(new Set(rows.map((row) => row.xact_id)).size).toBe(1);
    });

    it('of the same tenant that throws rolls back only itself; the outer transaction goes on and commits', async () => {
      const res = await alice(dev).post(`${API}/nested-tenant-tx`).send({ marker: 'ntx-fails', inner: 'fail' }).expect(201);
      expect(res.body.data).toEqual({ innerSawOuterRow: null, innerInSameTransaction: null, innerError: 'Error: the nested withTenantTx fails', otherTenantError: null, oneTransaction: true });
      expect((await entriesOf(dev, 'ntx-fails')).map((row) => row.step)).toEqual(['outer-before', 'outer-after']);
    });

    it('of another tenant is refused, naming both tenants, and writes nothing there', async () => {
      const res = await alice(dev).post(`${API}/nested-tenant-tx`).send({ marker: 'ntx-other', inner: 'commit', otherTenantId: acme.id }).expect(201);
      expect(res.body.data.otherTenantError).toBe(`Error: withTenantTx("${acme.id}") was called inside a transaction of tenant "${dev.id}": finish the first before starting the other.`);
      expect(await entriesOf(acme, 'ntx-other')).toEqual([]);
      expect((await entriesOf(dev, 'ntx-other')).map((row) => row.step)).toEqual(['outer-before', 'inner', 'outer-after']);
    });

    it('which the foundation\'s own withTenantTx is not: there, a nested call is a second connection that cannot see the outer row', async () => {
      const own = await f.load<OwnTenantDb>('lib/db/tenant-db.ts');
      const seen = await own.withTenantTx(dev.id, async (db) => {
        await db.execute(sql`INSERT INTO guarantees_entries (marker, step) VALUES ('ntx-control', 'outer-before')`);
        return own.withTenantTx(dev.id, async (inner) => (await inner.execute(sql`SELECT count(*)::int AS n FROM guarantees_entries WHERE marker = 'ntx-control'`)).rows[0]!.n);
      });
      expect(seen).toBe(0);
    });
  });

  describe('events', () => {
    const deliveriesOf = async (tenant: FoundationTenant, marker: string) =>
      ((await alice(tenant).get(`${API}/deliveries`).expect(200)).body.data as { payload: { marker: string } }[]).filter((d) => d.payload.marker === marker);

    it('emitted in a transaction that commits are delivered after the commit (the emitter\'s transaction committed, its row visible), with the tenant, before withTenantTx returns', async () => {
      const res = await alice(dev).post(`${API}/events`).send({ marker: 'ev-commits', outcome: 'commit' }).expect(201);
      expect(res.body.data).toEqual({ deliveredBeforeCommit: false, deliveredBeforeReturn: true });
      const [row] = await entriesOf(dev, 'ev-commits');
      expect(await deliveriesOf(dev, 'ev-commits')).toEqual([{
        name: 'guarantees.entry.recorded',
        payload: { marker: 'ev-commits', xact: row!.xact_id },
        tenantId: dev.id,
        emittedBy: 'guarantees',
        emitterTransaction: 'committed',
        rowVisible: true,
      }]);
      expect(await deliveriesOf(acme, 'ev-commits')).toEqual([]);
    });

    it('emitted in a transaction that rolls back are never delivered', async () => {
      const res = await alice(dev).post(`${API}/events`).send({ marker: 'ev-rolls-back', outcome: 'rollback' }).expect(422);
      expect(res.body).toEqual({ error: { code: 'ROLLED_BACK', message: 'The transaction rolls back on purpose, after emitting.', requestId: expect.any(String) } });
      // One more committed event afterwards: deliveries are not merely late.
      await alice(dev).post(`${API}/events`).send({ marker: 'ev-after-rollback', outcome: 'commit' }).expect(201);
      expect(await deliveriesOf(dev, 'ev-after-rollback')).toHaveLength(1);
      expect(await deliveriesOf(dev, 'ev-rolls-back')).toEqual([]);
      expect(await entriesOf(dev, 'ev-rolls-back')).toEqual([]);
    });

    it('emitted in a nested withTenantTx that rolls back are dropped; the outer transaction\'s are delivered at its commit', async () => {
      const res = await alice(dev).post(`${API}/events`).send({ marker: 'ev-savepoint', outcome: 'savepoint-rollback' }).expect(201);
      expect(res.body.data).toEqual({ deliveredBeforeCommit: false, deliveredBeforeReturn: true });
      expect(await deliveriesOf(dev, 'ev-savepoint')).toEqual([expect.objectContaining({ tenantId: dev.id, emitterTransaction: 'committed', rowVisible: true })]);
      expect(await deliveriesOf(dev, 'ev-savepoint-inner')).toEqual([]);
      expect(await entriesOf(dev, 'ev-savepoint-inner')).toEqual([]);
    });

    // Contract 1.1: an event emitted outside a tenant transaction carries its request's tenant.
    it('emitted in a request outside any transaction carry the request\'s tenant', async () => {
      const res = await alice(dev).post(`${API}/events/outside-transaction`).send({ marker: 'ev-outside-tx' }).expect(201);
      expect(res.body.data).toMatchObject({ name: 'guarantees.entry.recorded', emittedBy: 'guarantees', tenantId: dev.id });
    });
  });

  describe('the error envelope, where the foundation writes { message, statusCode }', () => {
    it('re-answers the foundation\'s own 403 refusal as FORBIDDEN naming the permission, answers 401 without identity, and lets a granted caller through', async () => {
      const anonymous = await f.anonymous().get(`${API}/entries`).expect(401);
      expect(anonymous.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'This route needs a signed-in user in a tenant.', requestId: expect.any(String) } });
      const bob = () => f.as(f.users.bob, dev);
      const refused = await bob().get(`${API}/entries`).expect(403);
      // Not the foundation's { message: 'Forbidden', statusCode: 403, missing }.
      expect(refused.body).toEqual({ error: { code: 'FORBIDDEN', message: "You don't have permission guarantees.entries.read.", permission: 'guarantees.entries.read', requestId: expect.any(String) } });
      await f.grant(f.users.bob, dev, ['guarantees.entries.read']);
      await bob().get(`${API}/entries`).expect(200);
      const write = await bob().post(`${API}/codes`).send({ code: 'bob', quantity: 1 }).expect(403);
      expect(write.body.error).toEqual({ code: 'FORBIDDEN', message: "You don't have permission guarantees.entries.write.", permission: 'guarantees.entries.write', requestId: expect.any(String) });
    });

    it('answers PostgreSQL\'s refusals of a value: 23505 and 23514 as 409, 22001 as 400, with no SQL in them', async () => {
      await alice(dev).post(`${API}/codes`).send({ code: 'A-1', quantity: 1, label: 'ok' }).expect(201);
      const duplicate = await alice(dev).post(`${API}/codes`).send({ code: 'A-1', quantity: 2 }).expect(409);
      expect(duplicate.body).toEqual({ error: { code: 'ALREADY_EXISTS', message: 'A row with the same unique value already exists.', sqlState: '23505', requestId: expect.any(String) } });
      const negative = await alice(dev).post(`${API}/codes`).send({ code: 'A-2', quantity: -1 }).expect(409);
      expect(negative.body).toEqual({ error: { code: 'CHECK_VIOLATION', message: 'A value breaks a rule of its table.', sqlState: '23514', requestId: expect.any(String) } });
      const tooLong = await alice(dev).post(`${API}/codes`).send({ code: 'A-3', quantity: 1, label: 'longer than eight' }).expect(400);
      expect(tooLong.body).toEqual({ error: { code: 'VALUE_TOO_LONG', message: 'A value is longer than its column allows.', sqlState: '22001', requestId: expect.any(String) } });
      // The same code is free in the other tenant.
      await alice(acme).post(`${API}/codes`).send({ code: 'A-1', quantity: 1 }).expect(201);
      expect(await f.sql(`SELECT code FROM "${dev.schemaName}".guarantees_codes ORDER BY code`)).toEqual([{ code: 'A-1' }]);
    });

    it('answers an unknown error 500 INTERNAL without its details, logged with the stack; an unknown route 404 NOT_FOUND', async () => {
      const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        const boom = await f.anonymous().get(`${API}/boom`).expect(500);
        expect(Object.keys(boom.body)).toEqual(['error']);
        expect(boom.body.error).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^Something went wrong on the server/) });
        expect(JSON.stringify(boom.body)).not.toMatch(/hunter2|db-7|at /);
        const logged = errors.mock.calls.map((call) => String(call[0])).find((line) => line.includes('hunter2'));
        // The client's requestId finds the server's log line.
        expect(boom.headers['x-request-id']).toBe(boom.body.error.requestId);
        expect(JSON.parse(logged!)).toMatchObject({ level: 'error', msg: 'request failed', pluginId: 'guarantees', code: 'INTERNAL', requestId: boom.body.error.requestId, err: expect.stringContaining('at ') });
      } finally {
        errors.mockRestore();
      }
      const missing = await alice(dev).get(`${API}/nothing-here`).expect(404);
      expect(missing.body).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for GET /api/plugins/guarantees/nothing-here.', requestId: expect.any(String) } });
    });

    it.each([
      ['a tame id', 'req-42.a:b_c', true],
      ['an empty one', '', false],
      ['a long one', 'x'.repeat(65), false],
      ['one with spaces', 'a b', false],
      ['one with a newline-like escape', 'a%0d%0aSet-Cookie:x', false],
      ['one with quotes', '"><script>', false],
    ])('keeps a caller\'s X-Request-Id only when it is tame: %s', async (_name, given, kept) => {
      const res = await f.anonymous().get(`${API}/entries`).set('X-Request-Id', given).expect(401);
      expect(res.headers['x-request-id']).toBe(res.body.error.requestId);
      if (kept) expect(res.body.error.requestId).toBe(given);
      else expect(res.body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('keeps the foundation\'s own body outside the modules (the guarantee is the adapter\'s, not the host\'s)', async () => {
      const outside = await f.anonymous().get('/api/nothing-here').expect(404);
      expect(outside.body).toEqual({ message: 'Not found', statusCode: 404 });
    });
  });
});

describe('a module that requires a permission it does not declare', () => {
  let root: string | undefined;
  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('is vendored, but its adapter refuses to load, naming the permission and the module; so the foundation does not start', async () => {
    root = copyReferenceFoundation();
    const vendored = await vendor([UNDECLARED, '--into', root]);
    expect(vendored.code, vendored.lines.join('\n')).toBe(0);
    editBindings(root);
    const refusal = 'Plugin "undeclared-permission" requires permission "undeclared-permission.secrets.read", which it does not declare in its exported permissions.';

    const adapter = pathToFileURL(path.join(root, 'src/modules/undeclared-permission/server/routes/index.ts')).href;
    await expect(import(adapter)).rejects.toThrow(refusal);
    const { createApp } = (await import(pathToFileURL(path.join(root, 'src/app.ts')).href)) as { createApp(): Promise<Express> };
    await expect(createApp()).rejects.toThrow(refusal);
  });
});
