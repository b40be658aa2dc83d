/**
 * Issue 17, the hot path: a warm request to a plugin sends no query of the host's own (tenant,
 * user, permissions and enablement come from memory), only the plugin's tenant transaction; and
 * those caches stay true when another process changes users, roles, grants or the catalog with
 * plain SQL, through the `access` notices the triggers send.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoundedCache } from '../sandbox/access/bounded-cache.ts';
import { CHANGES_CHANNEL, parseChange, type Change } from '../sandbox/data/changes.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { logQueries, otherProcess, within, WITHIN_ONE_SECOND, type OtherProcess } from './helpers/listener-fixtures.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';

describe.each(databaseServers())('the request hot path on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let other: OtherProcess;
  let devId: string;
  let userId: string;
  const status = async (user = USER, tenant = 'dev') => (await t.as(user, tenant).get(ITEMS)).status;
  const answers = (code: number, user = USER) => async () => {
    const seen = await status(user);
    return { ok: seen === code, seen };
  };

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    other = await otherProcess(t.database.url);
    devId = (await t.sandbox.tenancy.get('dev')).id;
    userId = (await t.sandbox.identity.findUser(USER))!.id;
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  it('sends only the plugin\'s transaction for a warm request: BEGIN with the schema proof, the SELECT, COMMIT', async () => {
    const token = (await t.request.post('/api/sandbox/token').send({ user: ADMIN, tenant: 'dev' }).expect(200)).body.token as string;
    const requests = {
      'dev headers': () => t.as(ADMIN, 'dev').get(ITEMS),
      'a bearer token': () => t.request.get(ITEMS).set('Authorization', `Bearer ${token}`),
    };
    const caches = { tenants: t.sandbox.tenancy, users: t.sandbox.identity, permissions: t.sandbox.rbac };
    const stats = () => Object.fromEntries(Object.entries(caches).map(([name, cache]) => [name, cache.stats()]));
    for (const [how, request] of Object.entries(requests)) {
      await request().expect(200); // warms the caches
      const before = stats();
      const log = logQueries(t.sandbox.database.pool);
      try {
        await request().expect(200);
        const after = stats();
        for (const name of Object.keys(caches)) {
          expect(after[name]!.hits, `${name}, ${how}`).toBeGreaterThan(before[name]!.hits);
          expect(after[name]!.misses, `${name}, ${how}`).toBe(before[name]!.misses);
          expect(after[name]!.size, `${name}, ${how}`).toBeGreaterThan(0);
        }
        expect(log.texts, how).toHaveLength(3);
        expect(log.texts[0], how).toBe('BEGIN; SET LOCAL search_path TO "tenant_dev", public; SELECT current_schema() AS schema');
        expect(log.texts[1], how).toMatch(/^select .* from "items_items"/);
        expect(log.texts[2], how).toBe('COMMIT');
      } finally {
        log.stop();
      }
    }
  });

  it('takes a grant and a revoke made by another process with plain SQL within one second', async () => {
    expect(await status()).toBe(403); // the permission set is cached now: only a notice can change it
    const [role] = await other.query<{ id: string }>(`INSERT INTO sys_role (tenant_id, key, name) VALUES ($1, 'READER', 'Reader') RETURNING id::text AS id`, [devId]);
    try {
      // A role's grants name no user: the notice names the role's tenant.
      await other.query(`INSERT INTO sys_role_permission (role_id, permission) VALUES ($1, 'items.items.read')`, [role!.id]);
      await other.query('INSERT INTO sys_user_role (user_id, role_id) VALUES ($1, $2)', [userId, role!.id]);
      await within(WITHIN_ONE_SECOND, 'the grant reaches the sandbox', answers(200));
      await other.query('DELETE FROM sys_user_role WHERE user_id = $1 AND role_id = $2', [userId, role!.id]);
      await within(WITHIN_ONE_SECOND, 'taking the role away reaches the sandbox', answers(403));
      await other.query('INSERT INTO sys_user_role (user_id, role_id) VALUES ($1, $2)', [userId, role!.id]);
      await within(WITHIN_ONE_SECOND, 'giving the role back reaches the sandbox', answers(200));
      await other.query(`DELETE FROM sys_role_permission WHERE role_id = $1`, [role!.id]);
      await within(WITHIN_ONE_SECOND, 'revoking the role\'s grant reaches the sandbox', answers(403));
      await other.query(`INSERT INTO sys_role_permission (role_id, permission) VALUES ($1, 'items.items.read')`, [role!.id]);
      await within(WITHIN_ONE_SECOND, 'granting it again', answers(200));
      await other.query('DELETE FROM sys_role WHERE id = $1', [role!.id]);
      await within(WITHIN_ONE_SECOND, 'deleting the role (its grants go by cascade)', answers(403));
    } finally {
      await other.query('DELETE FROM sys_role WHERE id = $1', [role!.id]);
    }
  });

  it('denies a permission dropped from the catalog elsewhere, within one second', async () => {
    expect(await status(ADMIN)).toBe(200);
    // Only the catalog row goes: the grant stays, and an unknown permission is denied anyway.
    await other.query(`ALTER TABLE sys_role_permission DROP CONSTRAINT sys_role_permission_permission_fkey`);
    try {
      await other.query(`DELETE FROM sys_permission WHERE permission = 'items.items.read'`);
      await within(WITHIN_ONE_SECOND, 'the catalog change reaches the sandbox', answers(403, ADMIN));
    } finally {
      await other.query(`INSERT INTO sys_permission (permission, plugin_id) VALUES ('items.items.read', 'items') ON CONFLICT DO NOTHING`);
      await other.query(`ALTER TABLE sys_role_permission ADD CONSTRAINT sys_role_permission_permission_fkey FOREIGN KEY (permission) REFERENCES sys_permission(permission) ON DELETE CASCADE`);
    }
    await within(WITHIN_ONE_SECOND, 'the permission back in the catalog', answers(200, ADMIN));
  });

  it('refuses a user deleted elsewhere with 401 within one second, and follows a changed email', async () => {
    const [temp] = await other.query<{ id: string }>(`INSERT INTO sys_user (email, name) VALUES ('temp@sandbox.dev', 'Temp') RETURNING id::text AS id`);
    await t.grant('temp@sandbox.dev', 'dev', ['items.items.read']);
    expect(await status('temp@sandbox.dev')).toBe(200);
    expect(await status(temp!.id)).toBe(200);
    await other.query(`UPDATE sys_user SET email = 'renamed@sandbox.dev' WHERE id = $1`, [temp!.id]);
    await within(WITHIN_ONE_SECOND, 'the old email is no one\'s', answers(401, 'temp@sandbox.dev'));
    expect(await status('renamed@sandbox.dev')).toBe(200);
    await other.query('DELETE FROM sys_user WHERE id = $1', [temp!.id]);
    await within(WITHIN_ONE_SECOND, 'the deleted user is refused', answers(401, 'renamed@sandbox.dev'));
    const refused = await t.as(temp!.id, 'dev').get(ITEMS).expect(401);
    expect(refused.body.error).toMatchObject({ code: 'UNKNOWN_USER' });
  });

  it('takes a grant made in this process at once, before its notice comes back', async () => {
    const [fresh] = await other.query<{ id: string }>(`INSERT INTO sys_user (email, name) VALUES ('fresh@sandbox.dev', 'Fresh') RETURNING id::text AS id`);
    try {
      expect(await status('fresh@sandbox.dev')).toBe(403);
      await t.grant('fresh@sandbox.dev', 'dev', ['items.items.read']);
      expect(await status('fresh@sandbox.dev')).toBe(200);
    } finally {
      await other.query('DELETE FROM sys_user WHERE id = $1', [fresh!.id]);
    }
  });

  it('sends access notices naming the users or tenants a statement touched, none for a statement that touched no row', async () => {
    const listener = new pg.Client({ connectionString: t.database.url });
    await listener.connect();
    const heard: Change[] = [];
    listener.on('notification', (message) => {
      const change = message.channel === CHANGES_CHANNEL ? parseChange(message.payload) : undefined;
      if (change?.kind === 'access') heard.push(change);
    });
    await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
    const next = async (count: number) => {
      for (let waited = 0; heard.length < count && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      return heard.slice(count - 1, count)[0];
    };
    try {
      const [a] = await other.query<{ id: string }>(`INSERT INTO sys_user (email, name) VALUES ('notice@sandbox.dev', 'N') RETURNING id::text AS id`);
      expect(await next(1)).toEqual({ kind: 'access', userIds: [a!.id] });
      await other.query(`UPDATE sys_user SET name = 'N' WHERE email = 'nobody@sandbox.dev'`);
      const [role] = await other.query<{ id: string }>(`INSERT INTO sys_role (tenant_id, key, name) VALUES ($1, 'NOTICE', 'N') RETURNING id::text AS id`, [devId]);
      expect(await next(2)).toEqual({ kind: 'access', tenantIds: [devId] }); // nothing came for the UPDATE of no row
      await other.query(`INSERT INTO sys_role_permission (role_id, permission) VALUES ($1, 'items.items.read')`, [role!.id]);
      expect(await next(3)).toEqual({ kind: 'access', tenantIds: [devId] });
      await other.query('INSERT INTO sys_user_role (user_id, role_id) VALUES ($1, $2)', [a!.id, role!.id]);
      expect(await next(4)).toEqual({ kind: 'access', userIds: [a!.id] });
      // More users than a notice names: no list, so every cached entry is forgotten.
      await other.query(`INSERT INTO sys_user (email, name) SELECT 'bulk' || g || '@sandbox.dev', 'Bulk' FROM generate_series(1, 101) g`);
      expect(await next(5)).toEqual({ kind: 'access' });
      await other.query(`DELETE FROM sys_user WHERE email LIKE 'bulk%'`);
      expect(await next(6)).toEqual({ kind: 'access' });
      // The role's grants are deleted by cascade, after the role: their tenant can't be read any more.
      await other.query('DELETE FROM sys_role WHERE id = $1', [role!.id]);
      await next(9);
      expect(heard.slice(6, 9)).toEqual(expect.arrayContaining([{ kind: 'access', tenantIds: [devId] }, { kind: 'access', userIds: [a!.id] }, { kind: 'access' }]));
      await other.query('DELETE FROM sys_user WHERE id = $1', [a!.id]);
      expect(await next(10)).toEqual({ kind: 'access', userIds: [a!.id] });
    } finally {
      await listener.end();
    }
  });

  it('forgets users and permission sets on refresh(), as after a dropped listener', async () => {
    const quiet = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, listenForChanges: false });
    try {
      const asAdmin = () => quiet.as(ADMIN, 'dev').get(ITEMS);
      await asAdmin().expect(200);
      await quiet.sql(`DELETE FROM sys_user_role WHERE user_id = (SELECT id FROM sys_user WHERE email = $1)`, [ADMIN]);
      await asAdmin().expect(200); // nobody told this sandbox
      await quiet.sandbox.refresh();
      await asAdmin().expect(403);
      await quiet.sql(`DELETE FROM sys_user WHERE email = $1`, [ADMIN]);
      await asAdmin().expect(403);
      await quiet.sandbox.refresh();
      expect((await asAdmin().expect(401)).body.error.code).toBe('UNKNOWN_USER');
    } finally {
      await quiet.close();
    }
  });
});

describe('the bounded cache', () => {
  it('does not store an answer read before an invalidation, and hands it to its caller all the same', async () => {
    const cache = createBoundedCache<string>({ maxEntries: 10 });
    let release!: (value: string) => void;
    const first = cache.get('k', () => new Promise<string>((resolve) => (release = resolve)));
    cache.invalidate();
    release('stale');
    expect(await first).toBe('stale');
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
    expect(await cache.get('k', async () => 'never read')).toBe('fresh');
  });

  it('shares one load among concurrent misses of a generation, and starts a new one after an invalidation', async () => {
    const cache = createBoundedCache<number>({ maxEntries: 10 });
    let loads = 0;
    const load = async () => {
      const mine = ++loads;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return mine;
    };
    const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    const during = cache.get('x', load);
    cache.invalidate();
    const after = cache.get('x', load);
    expect([await during, await after]).toEqual([2, 3]);
    expect(await cache.get('x', load)).toBe(3);
  });

  it('keeps at most maxEntries, dropping the least recently used, and counts hits and misses', async () => {
    const cache = createBoundedCache<string>({ maxEntries: 2 });
    await cache.get('a', async () => 'A');
    await cache.get('b', async () => 'B');
    await cache.get('a', async () => 'A2'); // a is now the most recently used
    await cache.get('c', async () => 'C');  // b goes
    expect(await cache.get('b', async () => 'B2')).toBe('B2');
    expect(cache.stats()).toEqual({ hits: 1, misses: 4, size: 2 });
    await cache.get('x', async () => undefined);
    expect(cache.stats().size).toBe(2); // undefined is never stored
    cache.invalidate((value) => value === 'B2');
    expect(cache.stats().size).toBe(1);
  });
});
