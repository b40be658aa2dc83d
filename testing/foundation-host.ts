/**
 * The test host on a foundation: a module's own API tests, run with `FOUNDATION_ROOT` set, talk to
 * the foundation the module is vendored into instead of the sandbox. The foundation's maintainer
 * filled in its test bindings (src/lib/foundation-module/test-bindings.ts: start, tenants, users,
 * grants, request headers); this file does what the sandbox does at its start with them: a
 * throw-away database, the dev tenants and users, the module's migrations by the kit's runner (the
 * foundation's tenant table, from its bindings), the module enabled, and the dev admin granted every
 * permission the module declares.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import supertest from 'supertest';
import type { FoundationTestBindings, TestCaller } from '../foundation-lib/test-host.ts';
import { readTenantDirectory, tenantRowsSql } from '../foundation-lib/tenant-directory.ts';
import { DEV_TENANTS, DEV_USERS } from '../sandbox/data/dev-seed.ts';
import { refreshTenantMirror } from '../sandbox/data/tenant-mirror.ts';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { readStaticMeta } from '../sandbox/plugins/static-meta.ts';
import { enablePlugin } from '../operations/registry/enablement.ts';
import { LIB_DIR, modulePath } from '../vendor/layout.ts';
import { createThrowawayDatabase } from './databases.ts';
import { asCaller, type TestHost } from './test-host.ts';

export interface FoundationHostOptions {
  /** The foundation's root, with the modules vendored into it. */
  root: string;
  /** The modules under test (their folders as the author has them): the vendored copies of these are served. */
  moduleDirs: string[];
  serverUrl: string;
}

export async function startFoundationTestHost({ root: given, moduleDirs, serverUrl }: FoundationHostOptions): Promise<TestHost> {
  const root = path.resolve(given);
  const libDir = path.join(root, LIB_DIR);
  if (!fs.existsSync(path.join(root, 'package.json'))) throw new Error(`FOUNDATION_ROOT=${given}: no foundation there (no package.json in ${root}).`);
  const ids = moduleDirs.map((dir) => readStaticMeta(dir).id);
  const vendored = ids.map((id) => path.join(root, modulePath(id)));
  const missing = vendored.find((dir) => !fs.existsSync(path.join(dir, 'plugin', 'index.ts')));
  if (missing) throw new Error(`FOUNDATION_ROOT=${root}: ${path.relative(root, missing)} is not there. Vendor the module first: foundation-module vendor <module> --into ${root}`);
  const bindingsFile = path.join(libDir, 'test-bindings.ts');
  if (!fs.existsSync(bindingsFile)) throw new Error(`FOUNDATION_ROOT=${given}: ${path.relative(root, bindingsFile)} is missing. Run foundation-module vendor <module> --into ${root} again: it writes the file, then fill it in (docs/vendoring.md).`);
  const testBindings = (await import(pathToFileURL(bindingsFile).href)).default as FoundationTestBindings;

  const database = await createThrowawayDatabase(serverUrl);
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  pool.on('error', () => {});
  let foundation: Awaited<ReturnType<FoundationTestBindings['start']>> | undefined;
  const close = async () => {
    await foundation?.close().catch(() => {});
    await pool.end().catch(() => {});
    await database.drop();
  };
  try {
    foundation = await testBindings.start(database.url);
    const tenants = new Map<string, string>();
    for (const { code } of DEV_TENANTS) tenants.set(code, (await testBindings.createTenant(code)).id);
    const users = new Map<string, string>();
    for (const { email } of Object.values(DEV_USERS)) users.set(email, (await testBindings.createUser(email)).id);

    const directory = readTenantDirectory(libDir);
    await refreshTenantMirror(pool, directory);
    for (const dir of vendored) {
      const module = readModuleMigrations(dir);
      for (const scope of [undefined, 'all' as const]) {
        const report = await enablePlugin({ pool, module, tenants: scope });
        if (report.exitCode !== 0) throw new Error(`Enabling ${module.id} in the foundation failed: ${JSON.stringify(report.migrations.results.filter((r) => r.outcome.state !== 'done'))}`);
      }
      // The dev admin holds every permission the module declares, in every dev tenant (as in the sandbox).
      const adapter = await import(pathToFileURL(path.join(dir, 'server/routes/index.ts')).href) as { permissions?: string[] };
      for (const tenantId of tenants.values()) await testBindings.grant({ userId: users.get(DEV_USERS.admin.email)!, tenantId }, adapter.permissions ?? []);
    }

    const request = supertest(foundation.app);
    const caller = (user: string, tenant: string): TestCaller => ({ userId: users.get(user) ?? user, tenantId: tenants.get(tenant) ?? tenant });
    return {
      runtime: 'foundation',
      as: (user, tenant) => asCaller(request, async () => testBindings.headers(caller(user, tenant))),
      grant: (user, tenant, permissions) => testBindings.grant(caller(user, tenant), permissions),
      async sql(text, params) {
        return (await pool.query(text, params)).rows;
      },
      async tenantSchema(tenant) {
        const { rows } = await pool.query<{ schema_name: string }>(
          `SELECT schema_name FROM (${tenantRowsSql(directory)}) t WHERE t.code = $1 OR t.foundation_id = $1`, [tenant]);
        if (!rows[0]) throw new Error(`No tenant ${tenant} in the foundation (tenants: ${[...tenants.keys()].join(', ')})`);
        return rows[0].schema_name;
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
