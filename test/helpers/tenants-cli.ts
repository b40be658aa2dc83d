/**
 * What the `foundation-module tenants` tests share: the command as a program and in-process, a
 * fixture module installed and switched on globally (as `plugins enable` will do), and counts
 * read back from the database.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tenantsCommand } from '../../cli/commands/tenants.ts';
import { REPO_ROOT } from './examples.ts';
import { fixtureModule, type MigrationDb } from './migration-fixtures.ts';

export const CLI = path.join(REPO_ROOT, 'bin', 'foundation-module.js');

export const jsonLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

export function tenantsProgram(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, 'tenants', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

/** The command in this process: its exit code and lines, or the error it threw. */
export async function tenantsInProcess(args: string[], cwd = emptyFolder()): Promise<{ code?: number; lines: string[]; error?: Error & { exitCode?: number } }> {
  const lines: string[] = [];
  try {
    return { code: await tenantsCommand(args, '0.0.0-test', { cwd, write: (line) => lines.push(line) }), lines };
  } catch (error) {
    return { lines, error: error as Error };
  }
}

const folders: string[] = [];

/** A folder with no module in it or under it (`tenants create` then finds no module). */
export function emptyFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-tenants-cwd-'));
  folders.push(dir);
  return dir;
}

/** A fixture module with tenant migrations, removed by `cleanUp`. */
export function tenantsModule(id: string, files: Record<string, string>): string {
  const dir = fixtureModule(id, files);
  folders.push(dir);
  return dir;
}

export function cleanUp(): void {
  folders.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
}

/** Installs the plugin and switches it on globally: `tenants create` then migrates it. */
export async function enableGlobally(db: MigrationDb, pluginId: string): Promise<void> {
  await db.sql(
    `INSERT INTO sys_plugins (plugin_id, api_version, version_installed, enabled_global) VALUES ($1, '1.x', '1.0.0', true)
     ON CONFLICT (plugin_id) DO UPDATE SET enabled_global = true`, [pluginId]);
}

export async function count(db: MigrationDb, sql: string, params?: unknown[]): Promise<number> {
  return (await db.sql<{ n: number }>(`SELECT (${sql})::int AS n`, params))[0]!.n;
}

/** Rows of `table` in each tenant schema, by code (a missing schema or table throws). */
export async function rowsPerTenant(db: MigrationDb, table: string): Promise<Map<string, number>> {
  const tenants = await db.sql<{ code: string; schema_name: string }>('SELECT code, schema_name FROM sys_tenant ORDER BY code');
  if (tenants.length === 0) return new Map();
  const rows = await db.sql<{ code: string; n: number }>(tenants.map((t) => `SELECT '${t.code}' AS code, count(*)::int AS n FROM "${t.schema_name}".${table}`).join(' UNION ALL '));
  return new Map(rows.map((r) => [r.code, r.n]));
}
