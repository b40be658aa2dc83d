/**
 * Test helpers for modules and for the kit itself, built from the same factories the sandbox
 * runs: a real sandbox on a throw-away database, handed to supertest. No fakes of the database.
 *
 *   const t = await startTestHost({ moduleDirs: [moduleDir], serverUrl });   // FOUNDATION_ROOT set: on that foundation
 *   await t.as('user@sandbox.dev', 'dev').get('/api/plugins/items/items').expect(403);
 *   await t.grant('user@sandbox.dev', 'dev', ['items.items.read']);
 *   await t.close();
 */
import supertest from 'supertest';
import { DEV_USERS } from '../sandbox/data/dev-seed.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from './databases.ts';
import { startFoundationTestHost } from './foundation-host.ts';
import { asCaller, type TestHost } from './test-host.ts';

export { createThrowawayDatabase, databaseServers, type DatabaseServer } from './databases.ts';
export { DEV_TENANTS, DEV_USERS } from '../sandbox/data/dev-seed.ts';
export { expectTenantIsolation, type TenantIsolationOptions } from './tenant-isolation.ts';
export type { AsUser, TestHost } from './test-host.ts';
export { startFoundationTestHost } from './foundation-host.ts';

export interface TestSandboxOptions extends Omit<SandboxOptions, 'databaseUrl' | 'pool'> {
  /** Server to make the throw-away database on (see `databaseServers()`). */
  serverUrl: string;
}

export interface TestSandbox extends TestHost {
  runtime: 'sandbox';
  sandbox: Sandbox;
  database: ThrowawayDatabase;
  /** supertest bound to the sandbox's Express app. */
  request: ReturnType<typeof supertest>;
}

export interface TestHostOptions extends TestSandboxOptions {
  /** A foundation with the modules vendored into it: the tests run there. @default process.env.FOUNDATION_ROOT, else the sandbox */
  foundationRoot?: string;
}

/** The sandbox, or the foundation at `FOUNDATION_ROOT`: the same tests run against either. */
export async function startTestHost({ foundationRoot = process.env.FOUNDATION_ROOT || undefined, ...options }: TestHostOptions): Promise<TestHost> {
  if (!foundationRoot) return startTestSandbox(options);
  return startFoundationTestHost({ root: foundationRoot, moduleDirs: options.moduleDirs ?? [], serverUrl: options.serverUrl });
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
    runtime: 'sandbox',
    sandbox,
    database,
    request,
    as: (user, tenant) => asCaller(request, () => ({ 'X-User-Id': user, 'X-Tenant-Id': tenant })),
    async tenantSchema(tenant) {
      return (await sandbox.tenancy.get(tenant)).schema;
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
