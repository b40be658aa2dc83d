/**
 * A temporary copy of the reference foundation (test/fixtures/foundation), its node_modules the
 * kit's, and how to vendor a module into it as a maintainer would: the command, then the one edit
 * of the bindings file (test/fixtures/foundation/maintainer/bindings.ts). Also the copy's own
 * modules, loaded, and a command of the CLI run as an operator would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Express } from 'express';
import type pg from 'pg';
import { vendorCommand } from '../../cli/commands/vendor.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/foundation');

/** A temporary copy of the reference foundation; its packages the kit's unless `linkPackages` is false (then `npm install` it). */
export function copyReferenceFoundation({ linkPackages = true } = {}): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'vendored-foundation-'));
  fs.cpSync(FIXTURE, copy, { recursive: true, filter: (src) => !['node_modules', 'maintainer'].includes(path.basename(src)) });
  if (linkPackages) fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/** Adds React to a foundation copy's dependencies, as a foundation with a React front end has it. */
export function withReact(root: string): void {
  const file = path.join(root, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { dependencies: Record<string, string> };
  pkg.dependencies.react = '^19.3.1';
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}

export interface CommandRun {
  code: number;
  lines: string[];
  text: string;
}

/** A CLI command given a line writer: its exit code and its lines, a refusal's message as the last line. */
export async function runCommand(command: (write: (line: string) => void) => Promise<number>): Promise<CommandRun> {
  const lines: string[] = [];
  let code: number;
  try {
    code = await command((line) => lines.push(line));
  } catch (error) {
    lines.push((error as Error).message);
    code = (error as { exitCode?: number }).exitCode ?? 99;
  }
  return { code, lines, text: lines.join('\n') };
}

/** `foundation-module vendor`, its output lines and exit code (a refusal's message as the last line). */
export function vendor(args: string[]): Promise<CommandRun> {
  return runCommand((write) => vendorCommand(args, '0.1.0', { write }));
}

export interface FoundationTenant { id: string; slug: string; schemaName: string }
export interface FoundationUser { id: string; email: string }

/**
 * The slices of the reference foundation's API the tests use. Imported at run time from a copy,
 * never type-imported: the kit's own type check must not compile the fixture.
 */
export interface ReferenceFoundationApi {
  app: { createApp(opts?: { modulesDir?: string }): Promise<Express> };
  pool: { setPool(pool: pg.Pool): void };
  bootstrap: { bootstrap(pool: pg.Pool): Promise<void> };
  tenants: {
    createTenant(pool: pg.Pool, slug: string): Promise<FoundationTenant>;
    listTenants(pool: pg.Pool): Promise<FoundationTenant[]>;
    createUser(pool: pg.Pool, email: string): Promise<FoundationUser>;
  };
  rbac: { grantPermissions(pool: pg.Pool, who: { userId: string; tenantId: string }, perms: string[], role?: string): Promise<void> };
  jwt: { signToken(who: { userId: string; tenantId: string }, expiresIn?: string): Promise<string> };
  tenantDb: { withTenantTx<T>(tenantId: string, run: (db: { execute(q: unknown): Promise<{ rows: unknown[] }> }) => Promise<T>): Promise<T> };
}

/** A file of the copy at `root`, imported (`file` relative to its src/). */
export async function loadFromFoundation<T>(root: string, file: string): Promise<T> {
  return (await import(pathToFileURL(path.join(root, 'src', file)).href)) as T;
}

/** The copy's own modules, loaded. */
export async function loadReferenceFoundation(root: string): Promise<ReferenceFoundationApi> {
  const load = <T>(file: string) => loadFromFoundation<T>(root, file);
  return {
    app: await load('app.ts'),
    pool: await load('lib/db/pool.ts'),
    bootstrap: await load('bootstrap.ts'),
    tenants: await load('lib/tenants.ts'),
    rbac: await load('lib/security/rbac.ts'),
    jwt: await load('lib/auth/jwt.ts'),
    tenantDb: await load('lib/db/tenant-db.ts'),
  };
}

/**
 * The maintainer's edits of the files vendoring wrote for them: the bindings (pool, auth, the
 * org_tenants table) and the test bindings. `bindings` names another bindings file of maintainer/
 * (a variant, such as failing-rbac-bindings.ts), placed as bindings.ts.
 */
export function editBindings(copy: string, bindings = 'bindings.ts'): void {
  const lib = path.join(copy, 'src/lib/foundation-module');
  fs.copyFileSync(path.join(FIXTURE, 'maintainer', bindings), path.join(lib, 'bindings.ts'));
  fs.copyFileSync(path.join(FIXTURE, 'maintainer', 'test-bindings.ts'), path.join(lib, 'test-bindings.ts'));
}
