/**
 * Issue 25, item 13: a tenant made by `foundation-module tenants create` on a sandbox's database
 * can be used from the shell: the dev admin holds its role there as in the dev tenants, whether
 * the sandbox was running (it takes the tenant on) or started afterwards (its bootstrap), and
 * `user@sandbox.dev` still holds nothing. A sandbox in production mode (dev identity off) gives
 * the dev users nothing outside the dev tenants, and the command itself never does.
 */
import supertest from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase, databaseServers, startTestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { within } from './helpers/listener-fixtures.ts';
import { cleanUp, tenantsInProcess } from './helpers/tenants-cli.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';
/** The running sandbox takes a tenant on within a second; the command's own migration may hold it a little longer. */
const TAKEN_ON = 5_000;

afterAll(cleanUp);

async function createTenant(databaseUrl: string, code: string): Promise<void> {
  const run = await tenantsInProcess(['create', code, '--modules', ITEMS_MODULE, '--database-url', databaseUrl, '--json']);
  expect(run.error, run.lines.join('\n')).toBeUndefined();
  expect(run.code, run.lines.join('\n')).toBe(0);
}

describe.each(databaseServers())('tenants made by foundation-module tenants create, on $name PostgreSQL', (server) => {
  it('serve the dev admin while the sandbox runs (2xx), and still refuse user@sandbox.dev (403 FORBIDDEN)', async () => {
    const t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    try {
      await createTenant(t.database.url, 'newco');
      await within(TAKEN_ON, 'the dev admin is served in newco', async () => {
        const { status } = await t.as(ADMIN, 'newco').get(ITEMS);
        return { ok: status === 200, seen: status };
      });
      await t.as(ADMIN, 'newco').post(ITEMS).send({ name: 'First' }).expect(201);
      const refused = await t.as(USER, 'newco').get(ITEMS).expect(403);
      expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'items.items.read' });
    } finally {
      await t.close();
    }
  });

  it('serve the dev admin from the next start when made while no sandbox runs', async () => {
    const db = await createThrowawayDatabase(server.url);
    const start = () => createSandbox({ moduleDirs: [ITEMS_MODULE], databaseUrl: db.url, logger: createLogger({ level: 'silent' }), listenForChanges: false, maxConnections: 5 });
    try {
      await (await start()).close();
      await createTenant(db.url, 'later');
      const sandbox = await start();
      try {
        const as = (user: string) => supertest(sandbox.app).get(ITEMS).set({ 'X-Tenant-Id': 'later', 'X-User-Id': user });
        await as(ADMIN).expect(200);
        expect((await as(USER).expect(403)).body.error).toMatchObject({ code: 'FORBIDDEN' });
      } finally {
        await sandbox.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('give the dev users nothing where dev identity is off (production mode), nor from the command alone', async () => {
    const db = await createThrowawayDatabase(server.url);
    const roles = async (sandbox: { database: { pool: { query: (sql: string) => Promise<{ rows: unknown[] }> } } }) => (await sandbox.database.pool.query(
      `SELECT t.code FROM sys_user_role ur JOIN sys_user u ON u.id = ur.user_id JOIN sys_role r ON r.id = ur.role_id JOIN sys_tenant t ON t.id = r.tenant_id
        WHERE u.email LIKE '%@sandbox.dev' ORDER BY 1`)).rows;
    const production = () => createSandbox({
      moduleDirs: [ITEMS_MODULE], databaseUrl: db.url, logger: createLogger({ level: 'silent' }), maxConnections: 5,
      devIdentityHeaders: false, jwtSecret: 'a-production-secret-of-at-least-32-chars',
    });
    try {
      const first = await production();
      await createTenant(db.url, 'customer');
      // Running: it takes the tenant on (migrated, enabled), but gives no role there.
      await within(TAKEN_ON, 'customer is taken on', async () => {
        const { rows } = await first.database.pool.query(`SELECT count(*)::int AS n FROM sys_tenant_plugins tp JOIN sys_tenant t ON t.id = tp.tenant_id WHERE t.code = 'customer'`);
        return { ok: rows[0].n === 1, seen: rows[0].n };
      });
      expect(await roles(first)).toEqual([{ code: 'acme' }, { code: 'dev' }]);
      await first.close();
      const second = await production();
      expect(await roles(second)).toEqual([{ code: 'acme' }, { code: 'dev' }]);
      await second.close();
    } finally {
      await db.drop();
    }
  });
});
