/**
 * Test helpers for modules and for the kit itself, built from the same factories the sandbox
 * runs: a real sandbox on a throw-away database, handed to supertest. No fakes of the database.
 *
 *   const t = await startTestSandbox({ moduleDirs: [moduleDir], serverUrl });
 *   await t.as('user@sandbox.dev', 'dev').get('/api/plugins/items/items').expect(403);
 *   await t.grant('user@sandbox.dev', 'dev', ['items.items.read']);
 *   await t.close();
 */
import supertest from 'supertest';
import { DEV_USERS } from '../sandbox/data/dev-seed.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from './databases.ts';

export { createThrowawayDatabase, databaseServers, type DatabaseServer } from './databases.ts';
export { DEV_TENANTS, DEV_USERS } from '../sandbox/data/dev-seed.ts';
export { expectTenantIsolation, type TenantIsolationOptions } from './tenant-isolation.ts';

export interface TestSandboxOptions extends Omit<SandboxOptions, 'databaseUrl' | 'pool'> {
  /** Server to make the throw-away database on (see `databaseServers()`). */
  serverUrl: string;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type AsUser = { [M in Method]: (path: string) => supertest.Test };

export interface TestSandbox {
  sandbox: Sandbox;
  database: ThrowawayDatabase;
  /** supertest bound to the sandbox's Express app. */
  request: ReturnType<typeof supertest>;
  /** Requests made as `user` (email or id) in `tenant` (code or id), with the dev headers. */
  as(user: string, tenant: string): AsUser;
  /** Gives `user` in `tenant` a role granting `permissions` (what a tenant admin would do). */
  grant(user: string, tenant: string, permissions: string[]): Promise<void>;
  /** Runs SQL on the throw-away database (outside any tenant), for checks the API can't make. */
  sql<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export async function startTestSandbox({ serverUrl, ...options }: TestSandboxOptions): Promise<TestSandbox> {
  const database = await createThrowawayDatabase(serverUrl);
  let sandbox: Sandbox;
  try {
    sandbox = await createSandbox({ logger: createLogger({ level: process.env.LOG_LEVEL ?? 'silent' }), maxConnections: 5, ...options, databaseUrl: database.url });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const request = supertest(sandbox.app);
  return {
    sandbox,
    database,
    request,
    as(user, tenant) {
      const withIdentity = (test: supertest.Test) => test.set('X-User-Id', user).set('X-Tenant-Id', tenant);
      return {
        get: (path) => withIdentity(request.get(path)),
        post: (path) => withIdentity(request.post(path)),
        put: (path) => withIdentity(request.put(path)),
        patch: (path) => withIdentity(request.patch(path)),
        delete: (path) => withIdentity(request.delete(path)),
      };
    },
    async grant(user, tenant, permissions) {
      const found = await sandbox.identity.findUser(user);
      if (!found) throw new Error(`No user ${user} (dev users: ${Object.values(DEV_USERS).map((u) => u.email).join(', ')})`);
      const { id: tenantId } = await sandbox.tenancy.get(tenant);
      await sandbox.rbac.grant({ userId: found.id, tenantId }, 'TEST_ROLE', permissions);
    },
    async sql(text, params) {
      return (await sandbox.database.pool.query(text, params)).rows;
    },
    async close() {
      await sandbox.close();
      await database.drop();
    },
  };
}
