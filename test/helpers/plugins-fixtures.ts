/**
 * What the `plugins` command's tests share: the command run in-process with its output and exit
 * code, a client listening on the change channel, and the registry invariants checked with SQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pluginsCommand } from '../../cli/commands/plugins.ts';
import { CliError } from '../../cli/errors.ts';
import { CHANGES_CHANNEL, parseChange, type Change } from '../../sandbox/data/changes.ts';
import { fixtureModule } from './migration-fixtures.ts';

export interface PluginsRun {
  code: number;
  /** What the command wrote, one entry per line. */
  lines: string[];
  /** The message of the refusal, when the command threw one. */
  error?: string;
  /** `lines` parsed, for --json runs. */
  json: () => Record<string, unknown>[];
}

/** `foundation-module plugins …args` in-process; a CliError becomes its exit code, anything else throws. */
export async function runPlugins(args: string[], { cwd = process.cwd(), env = {} as NodeJS.ProcessEnv } = {}): Promise<PluginsRun> {
  const lines: string[] = [];
  const json = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  try {
    const code = await pluginsCommand(args, '0.0.0-test', { cwd, env, write: (line) => lines.push(line) });
    return { code, lines, json };
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return { code: error.exitCode, lines, error: error.message, json };
  }
}

/** A fixture module (see migration-fixtures.ts) whose meta says `api` and `version`. */
export function moduleWithMeta(id: string, files: Record<string, string>, { api = '1.x', version = '1.0.0' } = {}): string {
  const dir = fixtureModule(id, files, version);
  const entry = path.join(dir, 'plugin', 'index.ts');
  fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace("api: '1.x'", `api: '${api}'`));
  return dir;
}

/** Sets the version in a fixture module's meta (an upgrade of the module). */
export function setModuleVersion(dir: string, version: string): void {
  const entry = path.join(dir, 'plugin', 'index.ts');
  fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace(/version: '[^']*'/, `version: '${version}'`));
}

export interface ChangeListener {
  /** Every change received so far, with what the database said when it arrived. */
  received: { change: Change; seen: unknown }[];
  /** Waits until `count` changes have arrived (or fails after 5 s). */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A session LISTENing on the change channel, as a sandbox does. On each notification it reads
 * `probe` on a second session: a NOTIFY is delivered at commit, so the change must already be visible.
 */
export async function listenForChanges(url: string, probe: string): Promise<ChangeListener> {
  const listener = new pg.Client({ connectionString: url });
  const reader = new pg.Client({ connectionString: url });
  await Promise.all([listener.connect(), reader.connect()]);
  const received: ChangeListener['received'] = [];
  let queue = Promise.resolve();
  listener.on('notification', (message) => {
    const change = parseChange(message.payload);
    if (!change) return;
    queue = queue.then(async () => {
      received.push({ change, seen: (await reader.query(probe)).rows });
    });
  });
  await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
  return {
    received,
    async waitFor(count) {
      const deadline = Date.now() + 5_000;
      while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await queue;
      if (received.length < count) throw new Error(`expected ${count} change notification(s), got ${received.length}: ${JSON.stringify(received)}`);
    },
    async close() {
      await Promise.all([listener.end(), reader.end()]);
    },
  };
}

/**
 * The registries' invariants, each as a query returning the rows that break it; [] when they hold:
 * a tenant row only for a plugin in sys_plugins, a tenant's recorded version only where every
 * tenant migration of the module is in the ledger, ledger rows only of registered plugins.
 */
export async function registryProblems(pool: pg.Pool, modules: { id: string; version: string; tenantFiles: string[] }[]): Promise<unknown[]> {
  const problems: unknown[] = [];
  const orphanRows = await pool.query(`SELECT 'tenant row without plugin' AS problem, tp.plugin_id FROM sys_tenant_plugins tp LEFT JOIN sys_plugins p USING (plugin_id) WHERE p.plugin_id IS NULL`);
  const orphanLedger = await pool.query(`SELECT 'ledger row without plugin' AS problem, m.plugin_id FROM sys_plugin_migrations m LEFT JOIN sys_plugins p USING (plugin_id) WHERE p.plugin_id IS NULL`);
  problems.push(...orphanRows.rows, ...orphanLedger.rows);
  for (const m of modules) {
    const { rows } = await pool.query(
      `SELECT 'tenant row ahead of its ledger' AS problem, t.code, tp.version_installed,
              (SELECT array_agg(name ORDER BY name) FROM sys_plugin_migrations l WHERE l.plugin_id = tp.plugin_id AND l.tenant_id = tp.tenant_id) AS applied
         FROM sys_tenant_plugins tp JOIN sys_tenant t ON t.id = tp.tenant_id
        WHERE tp.plugin_id = $1 AND tp.version_installed = $2
          AND NOT $3::text[] <@ coalesce((SELECT array_agg(name) FROM sys_plugin_migrations l WHERE l.plugin_id = tp.plugin_id AND l.tenant_id = tp.tenant_id), '{}')`,
      [m.id, m.version, m.tenantFiles]);
    problems.push(...rows);
  }
  return problems;
}

/** The plugin most tests work on: a public table, and two tenant migrations that can be undone. */
export const KAPPA_FILES: Record<string, string> = {
  'public/001_settings.sql': 'CREATE TABLE kappa_settings (k text PRIMARY KEY, v text);\n',
  'tenant/001_init.sql': 'CREATE TABLE kappa_items (id serial PRIMARY KEY, name text NOT NULL, big bigint);\n',
  'tenant/001_init.down.sql': 'DROP TABLE kappa_items;\n',
  'tenant/002_notes.sql': 'CREATE TABLE kappa_notes (note text);\n',
  'tenant/002_notes.down.sql': 'DROP TABLE kappa_notes;\n',
};

/** What the tests read of the registries and the schemas, as plain rows (compared with toEqual). */
export function registryReader(pool: pg.Pool, pluginId: string) {
  const rows = async (text: string) => (await pool.query(text, [pluginId])).rows;
  return {
    plugin: async () => (await rows(`SELECT enabled_global, version_installed FROM sys_plugins WHERE plugin_id = $1`))[0],
    tenants: () => rows(`SELECT t.code, tp.enabled, tp.version_installed FROM sys_tenant_plugins tp JOIN sys_tenant t ON t.id = tp.tenant_id WHERE tp.plugin_id = $1 ORDER BY t.code`),
    ledger: () => rows(`SELECT coalesce(t.code, 'public') AS target, m.name FROM sys_plugin_migrations m LEFT JOIN sys_tenant t ON t.id = m.tenant_id WHERE m.plugin_id = $1 ORDER BY 1, 2`),
    tables: () => rows(`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE starts_with(table_name, replace($1, '-', '_') || '_') ORDER BY 1`).then((r) => r.map((x) => x.t as string)),
    tenantId: async (code: string) => (await pool.query<{ id: string }>(`SELECT id::text FROM sys_tenant WHERE code = $1`, [code])).rows[0]!.id,
  };
}
