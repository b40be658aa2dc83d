/**
 * A running reference foundation (test/fixtures/foundation) with modules vendored in, as its
 * maintainer would set it up: a copy of the fixture, `foundation-module vendor` for each module
 * (exit 0), the one edit of the bindings file, a throw-away database, the system tables, tenants
 * `dev` and `acme`, users alice and bob (no permissions yet), the modules migrated and enabled by
 * the operator commands run in the foundation's root, and the foundation's own app. Tests talk to it through `as(user, tenant)`, `grant` and `sql`.
 *
 * The foundation is imported at run time from the temp copy, never type-imported: the kit's own
 * type check must not compile it. The interfaces below are the slices of its API used here.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import pg from 'pg';
import supertest from 'supertest';
import { expect } from 'vitest';
import { migrateCommand } from '../../cli/commands/migrate.ts';
import { pluginsCommand } from '../../cli/commands/plugins.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../../testing/databases.ts';
import { createModule } from './generator-runs.ts';
import { copyReferenceFoundation, editBindings, loadFromFoundation, loadReferenceFoundation, REPO_ROOT, runCommand, vendor, type FoundationTenant, type FoundationUser } from './reference-foundation.ts';

export type { FoundationTenant, FoundationUser } from './reference-foundation.ts';

export interface FoundationInstance {
  /** The foundation copy's root folder. */
  root: string;
  /** The foundation's own Express app (`src/app.ts` createApp), the vendored modules mounted. */
  app: Express;
  /** The pool the foundation uses (`setPool`), on the throw-away database. */
  pool: pg.Pool;
  /** The throw-away database's URL (for operator commands, or a second foundation process). */
  databaseUrl: string;
  /** The ids of the vendored modules, in the order given. */
  moduleIds: string[];
  tenants: { dev: FoundationTenant; acme: FoundationTenant };
  users: { alice: FoundationUser; bob: FoundationUser };
  /** A supertest agent whose requests carry `user`'s bearer token for `tenant` (the foundation's JWT: uid/org). */
  as(user: FoundationUser, tenant: FoundationTenant): InstanceType<typeof supertest.agent>;
  /** A supertest agent without identity. */
  anonymous(): InstanceType<typeof supertest.agent>;
  /**
   * Gives `user` `permissions` in `tenant`, through the foundation's own rbac: added to a role of
   * that user alone (the foundation's default role is shared, so a grant to one user would reach
   * every user holding it).
   */
  grant(user: FoundationUser, tenant: FoundationTenant, permissions: string[]): Promise<void>;
  /** Runs SQL on the foundation's database (no search_path: qualify tenant tables with the schema). */
  sql<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Imports a file of the foundation copy, relative to its `src/` (the same instances the app uses). */
  load<T>(file: string): Promise<T>;
  /** Ends the pool, drops the database and removes the copy. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Module folders, vendored in this order. */
  modules: string[];
  /** A PostgreSQL server URL with the right to CREATE DATABASE. */
  serverUrl: string;
  /** The maintainer's bindings file to place, from test/fixtures/foundation/maintainer/. @default 'bindings.ts' */
  bindings?: string;
}

export async function startReferenceFoundation({ modules, serverUrl, bindings }: StartOptions): Promise<FoundationInstance> {
  let database: ThrowawayDatabase | undefined;
  let pool: pg.Pool | undefined;
  let root: string | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // A module with cron jobs runs them in this process until stopped (they hold a lock session of their own).
    if (root && fs.existsSync(path.join(root, 'src/lib/foundation-module/plugin-router.ts'))) {
      await (await loadFromFoundation<{ stopCronJobs(): Promise<void> }>(root, 'lib/foundation-module/plugin-router.ts')).stopCronJobs();
    }
    await pool?.end();
    await database?.drop().catch(() => {});
    if (root) fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    root = copyReferenceFoundation();
    const foundationRoot = root;
    const moduleIds: string[] = [];
    for (const moduleDir of modules) {
      const before = new Set(listModuleDirs(foundationRoot));
      const vendored = await vendor([moduleDir, '--into', foundationRoot]);
      expect(vendored.code, `vendor ${moduleDir}:\n${vendored.lines.join('\n')}`).toBe(0);
      const added = listModuleDirs(foundationRoot).filter((id) => !before.has(id));
      expect(added, `vendoring ${moduleDir} adds one folder to src/modules`).toHaveLength(1);
      moduleIds.push(added[0]!);
    }
    editBindings(foundationRoot, bindings);

    database = await createThrowawayDatabase(serverUrl);
    const db = new pg.Pool({ connectionString: database.url, max: 8 });
    pool = db;
    db.on('error', () => {});
    const load = <T>(file: string) => loadFromFoundation<T>(foundationRoot, file);
    const f = await loadReferenceFoundation(foundationRoot);
    f.pool.setPool(db);
    await f.bootstrap.bootstrap(db);
    const tenants = { dev: await f.tenants.createTenant(db, 'dev'), acme: await f.tenants.createTenant(db, 'acme') };
    const users = { alice: await f.tenants.createUser(db, 'alice@example.com'), bob: await f.tenants.createUser(db, 'bob@example.com') };
    await migrateAndEnable(foundationRoot, database.url, moduleIds);

    // Tokens signed once: `as()` stays synchronous. They live an hour, longer than any test file.
    const tokens = new Map<string, string>();
    for (const user of Object.values(users)) {
      for (const tenant of Object.values(tenants)) tokens.set(`${user.id}/${tenant.id}`, await f.jwt.signToken({ userId: user.id, tenantId: tenant.id }));
    }
    const app = await f.app.createApp();

    return {
      root: foundationRoot,
      databaseUrl: database.url,
      app,
      pool: db,
      moduleIds,
      tenants,
      users,
      as(user, tenant) {
        const token = tokens.get(`${user.id}/${tenant.id}`);
        if (!token) throw new Error(`No token for user ${user.email} in tenant ${tenant.slug}: as() knows the instance's own users and tenants.`);
        return supertest.agent(app).set('Authorization', `Bearer ${token}`);
      },
      anonymous: () => supertest.agent(app),
      grant: (user, tenant, permissions) => f.rbac.grantPermissions(db, { userId: user.id, tenantId: tenant.id }, permissions, `user ${user.email}`),
      sql: async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => (await db.query<T>(text, params)).rows,
      load,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * What the maintainer runs in the foundation's root after vendoring: `foundation-module migrate up`
 * (the foundation's tenants, from its bindings' tenantTable), then `plugins enable <id>` globally and for
 * every tenant. Each must exit 0.
 */
export async function migrateAndEnable(root: string, databaseUrl: string, moduleIds: string[]): Promise<void> {
  const run = async (command: (write: (line: string) => void) => Promise<number>, what: string) => {
    const { code, text } = await runCommand(command);
    expect(code, `${what}:\n${text}`).toBe(0);
  };
  await run((write) => migrateCommand(['up', '--database-url', databaseUrl], { cwd: root, write }), 'foundation-module migrate up');
  for (const id of moduleIds) {
    for (const scope of [[], ['--all']]) {
      await run((write) => pluginsCommand(['enable', id, ...scope, '--database-url', databaseUrl], '0.0.0-test', { cwd: root, write }), `foundation-module plugins enable ${id} ${scope.join(' ')}`);
    }
  }
}

/** The id of the module generated for the foundation tests: 40 characters (the most the rules allow), dashes, digits, an all-digit part. */
export const UNUSUAL_MODULE_ID = 'q4-stock-ledger-2026-north-region-b2b-eu';

/**
 * A module generated as an author would (`npm create foundation-module <id> --entity entry`) in a
 * temporary folder, its packages the kit's (as after npm install). Returns its folder and a
 * remover of the whole scratch folder.
 */
export async function generateModule(id = UNUSUAL_MODULE_ID, entity = 'entry'): Promise<{ dir: string; remove(): void }> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'generated-module-'));
  await createModule(scratch, id, '--yes', '--entity', entity);
  const dir = path.join(scratch, id);
  // Vendoring loads the module's code to read its module.config.ts: its packages must resolve.
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => fs.rmSync(scratch, { recursive: true, force: true }) };
}

/** The foundation's `tsc --noEmit -p tsconfig.json` (the kit's TypeScript), its output and exit status. */
export function typecheckFoundation(root: string): { status: number | null; output: string } {
  const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', path.join(root, 'tsconfig.json')], { encoding: 'utf8' });
  return { status: tsc.status, output: tsc.stdout + tsc.stderr };
}

function listModuleDirs(root: string): string[] {
  const dir = path.join(root, 'src/modules');
  return fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name) : [];
}
