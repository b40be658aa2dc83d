/**
 * `foundation-module plugins list|enable|disable|uninstall`: which plugin is on for which tenant,
 * through the registry's services (sandbox/registry/enablement.ts, uninstall.ts), on
 * DATABASE_URL / --database-url, else the embedded database of --sandbox-dir. Everything a command
 * line can get wrong is refused before the database is opened; everything the database can
 * refuse (an unknown tenant, a plugin not installed, a missing down file) before anything is written.
 */
import path from 'node:path';
import mri from 'mri';
import { pluginIdProblem, tenantCodeProblem } from '../../rules/index.ts';
import type { Database } from '../../sandbox/data/database.ts';
import { disabledPluginsFromEnv } from '../../sandbox/env-settings.ts';
import { readModuleMigrations, type ModuleMigrations } from '../../operations/migrations/plan.ts';
import { DEFAULT_CONCURRENCY, type RunReport } from '../../operations/migrations/runner.ts';
import { MODULE_MANIFEST, ModuleCatalogError, readModuleCatalog, type ModuleCatalog } from '../../sandbox/plugins/catalog.ts';
import { PluginLoadError } from '../../sandbox/plugins/loader.ts';
import { readStaticMeta, type StaticMeta } from '../../sandbox/plugins/static-meta.ts';
import { disablePlugin, enablePlugin, EnablementError, findTenants, installedPlugins, type TenantRef } from '../../operations/registry/enablement.ts';
import { keptPermissionMessage } from '../../operations/registry/permission-catalog.ts';
import { exportDirProblem, uninstallPlugin, UninstallError } from '../../operations/registry/uninstall.ts';
import { CliError, UsageError } from '../errors.ts';
import { openOperatorDatabase } from '../operator-database.ts';
import { flagValues, singleFlagValue } from '../flag-values.ts';
import { stopOnCtrlC } from '../interrupt.ts';
import { table } from '../migrate/output.ts';
import { resolveModuleDirs } from '../module-dirs.ts';
import { pluginsConfigCommand } from './plugins-config.ts';

const help = (kitVersion: string) => `Usage: foundation-module plugins <list|enable|disable|uninstall> [<id>] [options]   (kit ${kitVersion})
       foundation-module plugins config <id> [--tenant <code>] <list|get|set|unset> …

  list                   every installed plugin and every module folder found: versions, on/off
                         globally, tenants enabled, and whether ${DISABLED_PLUGINS_ENV} names it
  enable <id>            switch the plugin on globally; with --tenant/--all, for those tenants,
                         after applying its migrations there (needs its module folder)
  disable <id>           switch it off globally (the kill switch) or for --tenant/--all; deletes nothing
  uninstall <id>         remove it from --tenant/--all; its tables and data stay unless
                         --drop-data --confirm <id>
  config <id> …          its configuration, global or --tenant: list, get, set, unset
                         (foundation-module plugins config --help)

Options:
  --tenant <code>        a tenant (repeat for more)
  --all                  every tenant
  --modules <dir>        a module folder (repeatable); default: the current module, else every
                         module under examples/ or src/modules/
  --drop-data            uninstall: undo every migration of the plugin in those tenants (its .down.sql)
  --confirm <id>         the plugin id again, required with --drop-data
  --export <dir>         uninstall: first write each of its tables as <dir>/<tenant>/<table>.json
  --json                 one JSON object per line
  --database-url <url>   the PostgreSQL (default DATABASE_URL, else the embedded one of --sandbox-dir)
  --sandbox-dir <dir>    the embedded database's folder (default ./.sandbox)

Exit codes: 0 done, 1 a reported failure (unknown tenant, plugin not installed, a migration
failed), 2 usage, 3 lock contention or quarantine (migrations).
`;

const NO_CATALOG = (module: ModuleMigrations) => `Warning: permissions and role templates of ${module.id} not recorded: ${module.dir} has no plugin/index.ts to read them from ` +
  `and no ${MODULE_MANIFEST}. Write ${MODULE_MANIFEST} there (docs/operations.md shows how) and run this again. Until then its permissions are unknown, so denied.`;

/** The kill switch that needs no database: read by every sandbox at its start (sandbox/env-settings.ts). */
const DISABLED_PLUGINS_ENV = 'FOUNDATION_DISABLED_PLUGINS';

/** The ids the environment kill switch names, read as a sandbox reads them; `problem` when a sandbox would refuse the value. */
function envKillSwitch(env: NodeJS.ProcessEnv): { ids: string[]; problem?: string } {
  try {
    return { ids: disabledPluginsFromEnv(env) };
  } catch (error) {
    return { ids: [], problem: `${(error as Error).message} A sandbox started with this value refuses to start.` };
  }
}

const STRINGS = ['tenant', 'modules', 'confirm', 'export', 'database-url', 'sandbox-dir'];
const BOOLEANS = ['all', 'json', 'drop-data', 'help'];
const SUBCOMMANDS = ['list', 'enable', 'disable', 'uninstall'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
/** Options that only some subcommands take; the rest (--json, --database-url, --sandbox-dir) go with any. */
const ONLY_FOR: Record<string, Subcommand[]> = {
  tenant: ['enable', 'disable', 'uninstall'], all: ['enable', 'disable', 'uninstall'], modules: ['list', 'enable', 'uninstall'],
  'drop-data': ['uninstall'], confirm: ['uninstall'], export: ['uninstall'],
};

export interface PluginsCommandOptions {
  /** Where module folders are looked for. @default process.cwd() */
  cwd?: string;
  /** Where each output line goes. @default console.log */
  write?: (line: string) => void;
  /** Where `FOUNDATION_DISABLED_PLUGINS` is read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export async function pluginsCommand(argv: string[], kitVersion: string, { cwd = process.cwd(), write = (line: string) => console.log(line), env = process.env }: PluginsCommandOptions = {}): Promise<number> {
  // `config` reads its own arguments: its JSON values may start with "-", which mri takes for options.
  if (argv[0] === 'config') return pluginsConfigCommand(argv.slice(1), kitVersion, { cwd, write });
  // Copies: mri pushes the aliases into the arrays it is given, so a shared one grows at every call.
  const args = mri(argv, { boolean: [...BOOLEANS], string: [...STRINGS], alias: { h: 'help' } });
  const unknown = Object.keys(args).find((key) => key !== '_' && key !== 'h' && !STRINGS.includes(key) && !BOOLEANS.includes(key));
  if (unknown) throw new UsageError(`Unknown option ${unknown.length === 1 ? '-' : '--'}${unknown}. Run foundation-module plugins --help for the options.`);
  const [sub, ...positional] = args._.map(String);
  if (args.help || !sub) {
    write(help(kitVersion));
    return args.help ? 0 : 2;
  }
  if (sub === 'config') throw new UsageError('Put plugins config first, its options after: foundation-module plugins config <id> [--tenant <code>] <list|get|set|unset> …');
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`Unknown plugins command "${sub}": use ${SUBCOMMANDS.join(', ')}, config.`);
  const options = readOptions(sub as Subcommand, positional, args);
  if (options.exportDir !== undefined) {
    const problem = exportDirProblem(path.resolve(cwd, options.exportDir));
    if (problem) throw new UsageError(`--export ${options.exportDir} ${problem}.`);
  }
  // The module is read (and its contract major checked) before the database is opened: a refused module writes nothing.
  const module = sub === 'enable' || options.dropData ? findModule(options.pluginId!, moduleDirs(options.modules, cwd, true)) : undefined;
  const found = sub === 'list' ? readModules(moduleDirs(options.modules, cwd, false)) : undefined;
  const catalog = sub === 'enable' ? await catalogOf(module!, cwd) : undefined;
  const database = await openOperatorDatabase({ databaseUrl: options.databaseUrl, sandboxDir: options.sandboxDir && path.resolve(cwd, options.sandboxDir), maxConnections: DEFAULT_CONCURRENCY + 2 }, cwd, write);
  const out = (event: Record<string, unknown>, lines: () => string[]) => (options.json ? write(JSON.stringify(event)) : lines().forEach((line) => write(line)));
  const interrupt = stopOnCtrlC('plugins', 'tenants');
  try {
    await database.refreshTenants();
    if (sub === 'list') return await list(database, found!, options, env, out);
    const tenants = options.tenants || options.all ? await resolveTenants(database, options) : undefined;
    if (sub === 'enable') return await enable(database, module!, catalog, tenants, options, env, interrupt.signal, out);
    if (sub === 'disable') return await disable(database, options.pluginId!, tenants, out);
    return await uninstall(database, options, tenants!, module, cwd, interrupt.signal, out);
  } catch (error) {
    throw error instanceof EnablementError || error instanceof UninstallError ? new CliError(error.message, 1) : error;
  } finally {
    interrupt.dispose();
    await database.close();
  }
}

type Options = ReturnType<typeof readOptions>;
type Out = (event: Record<string, unknown>, lines: () => string[]) => void;

/** For `list`: a module that can't be read is listed as a problem, not a refusal. */
function readModules(dirs: string[]): { modules: StaticMeta[]; problems: { dir: string; error: string }[] } {
  const modules: StaticMeta[] = [];
  const problems: { dir: string; error: string }[] = [];
  for (const dir of dirs) {
    try {
      modules.push(readStaticMeta(dir));
    } catch (error) {
      problems.push({ dir, error: (error as Error).message });
    }
  }
  return { modules, problems };
}

async function list(database: Database, { modules, problems }: ReturnType<typeof readModules>, options: Options, env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const installed = await installedPlugins(database.pool);
  const { tenants } = await findTenants(database.pool, 'all');
  const killSwitch = envKillSwitch(env);
  const envOff = new Set(killSwitch.ids);
  const ids = [...new Set([...installed.map((p) => p.pluginId), ...modules.map((m) => m.id)])].sort();
  const rows = ids.map((id) => {
    const p = installed.find((x) => x.pluginId === id);
    const m = modules.find((x) => x.id === id);
    return {
      event: 'plugin', plugin: id, installed: p !== undefined, versionInstalled: p?.versionInstalled ?? null, moduleVersion: m?.version ?? null, moduleDir: m?.dir ?? null,
      enabledGlobal: p?.enabledGlobal ?? false, tenantsEnabled: p?.tenantsEnabled ?? 0, tenantsInstalled: p?.tenantsInstalled ?? 0, tenants: tenants.length,
      disabledByEnv: envOff.has(id),
    };
  });
  const strayEnv = [...envOff].filter((id) => !ids.includes(id));
  if (options.json) {
    for (const row of rows) out(row, () => []);
    for (const problem of problems) out({ event: 'module-problem', ...problem }, () => []);
    out({ event: 'summary', plugins: rows.length, installed: installed.length, tenants: tenants.length, disabledByEnv: [...envOff], ...(killSwitch.problem ? { disabledByEnvProblem: killSwitch.problem } : {}) }, () => []);
    return killSwitch.problem ? 1 : 0;
  }
  const lines = rows.length === 0 ? ['No plugin is installed, and no module folder was found.'] : table([
    ['plugin', 'installed', 'module', 'global', 'tenants on', DISABLED_PLUGINS_ENV],
    ...rows.map((r) => [r.plugin, r.versionInstalled ?? '-', r.moduleVersion ?? '-', !r.installed ? '-' : r.enabledGlobal ? 'on' : 'off (kill switch)',
      `${r.tenantsEnabled}/${r.tenants}`, r.disabledByEnv ? 'disabled' : '']),
  ]);
  if (rows.some((r) => r.installed && r.versionInstalled === '0.0.0')) lines.push('installed 0.0.0: its migrations are not applied in every tenant yet (plugins enable <id> --all, or migrate up).');
  if (strayEnv.length > 0) lines.push(`${DISABLED_PLUGINS_ENV} also names ${strayEnv.join(', ')}, which is neither installed nor found.`);
  for (const { dir, error } of problems) lines.push(`Module ${dir} can't be read: ${error}`);
  if (killSwitch.problem) lines.push(killSwitch.problem);
  out({}, () => lines);
  return killSwitch.problem ? 1 : 0;
}

/** The module's permissions and role templates, read before anything is written; a module whose code or manifest is wrong is refused. */
async function catalogOf(module: ModuleMigrations, cwd: string): Promise<ModuleCatalog | undefined> {
  try {
    return await readModuleCatalog(module.dir);
  } catch (error) {
    if (error instanceof ModuleCatalogError || error instanceof PluginLoadError) throw new CliError(`${error.message} Nothing done.`, 1);
    throw error;
  }
}

async function enable(database: Database, module: ModuleMigrations, catalog: ModuleCatalog | undefined, tenants: TenantRef[] | undefined, options: Options, env: NodeJS.ProcessEnv, signal: AbortSignal, out: Out): Promise<number> {
  const report = await enablePlugin({ pool: database.pool, module, catalog, tenants: options.all ? 'all' : tenants, signal });
  const envOff = envKillSwitch(env).ids.includes(module.id);
  const failures = runFailures(report.migrations);
  const applied = report.migrations.results.reduce((n, r) => n + r.outcome.applied.length, 0);
  for (const t of report.tenants) out({ event: 'tenant', plugin: module.id, tenant: t.code, state: t.state, version: module.version }, () => []);
  const summary = {
    event: 'summary', command: 'enable', plugin: module.id, version: module.version, scope: tenants ? 'tenants' : 'global', newlyInstalled: report.newlyInstalled,
    enabledGlobal: report.enabledGlobal, versionInstalled: report.versionInstalled, disabledByEnv: envOff, migrationsApplied: applied, runId: report.migrations.runId, failures, exitCode: report.exitCode,
    catalog: catalog ? { source: catalog.source, permissions: catalog.permissions.length, roleTemplates: catalog.roleTemplates.length } : null,
    keptPermissions: report.keptPermissions.map((kept) => ({ ...kept, message: keptPermissionMessage(kept) })),
  };
  out(summary, () => {
    const lines = [tenants
      ? `Plugin ${module.id} ${module.version}: enabled for ${report.tenants.filter((t) => t.state !== 'not-ready').length} of ${report.tenants.length} tenant(s) (${applied} migration file(s) applied).`
      : report.enabledGlobal ? `Plugin ${module.id} ${module.version}: enabled globally (${applied} migration file(s) applied).` : `Plugin ${module.id}: not enabled globally.`];
    if (report.tenants.length > 0) lines.push(...table([['tenant', 'state', 'version'], ...report.tenants.map((t) => [t.code, t.state, t.state === 'not-ready' ? '-' : module.version])]));
    if (tenants && !report.enabledGlobal) lines.push(`It stays off everywhere while it is switched off globally (the kill switch wins): foundation-module plugins enable ${module.id} switches it on.`);
    if (envOff) lines.push(`${DISABLED_PLUGINS_ENV} names ${module.id} here: a process started with it keeps the plugin off.`);
    if (catalog) lines.push(`Recorded ${catalog.permissions.length} permission(s) and ${catalog.roleTemplates.length} role template(s) from its ${catalog.source === 'code' ? 'code' : MODULE_MANIFEST}.`);
    else lines.push(NO_CATALOG(module));
    lines.push(...report.keptPermissions.map((kept) => `Warning: ${keptPermissionMessage(kept)}`));
    lines.push(...failures.map((f) => `  ${f}`));
    return lines;
  });
  return report.exitCode;
}

async function disable(database: Database, pluginId: string, tenants: TenantRef[] | undefined, out: Out): Promise<number> {
  const report = await disablePlugin(database.pool, pluginId, tenants);
  if (!report) throw new CliError(`Plugin "${pluginId}" is not installed (no row in sys_plugins): nothing to disable.`, 1);
  for (const t of report.tenants) out({ event: 'tenant', plugin: pluginId, tenant: t.code, state: t.state }, () => []);
  out({ event: 'summary', command: 'disable', plugin: pluginId, scope: tenants ? 'tenants' : 'global', enabledGlobal: report.enabledGlobal, exitCode: 0 }, () => tenants
    ? [`Plugin ${pluginId}: disabled for ${report.tenants.filter((t) => t.state === 'disabled').length} tenant(s); nothing deleted.`, ...table([['tenant', 'state'], ...report.tenants.map((t) => [t.code, t.state])])]
    : [`Plugin ${pluginId}: ${report.wasEnabledGlobal ? 'disabled' : 'already disabled'} globally (kill switch): every tenant answers 403 PLUGIN_DISABLED. Nothing deleted.`]);
  return 0;
}

async function uninstall(database: Database, options: Options, tenants: TenantRef[], module: ModuleMigrations | undefined, cwd: string, signal: AbortSignal, out: Out): Promise<number> {
  const report = await uninstallPlugin({
    pool: database.pool, pluginId: options.pluginId!, tenants, dropData: options.dropData, module, signal,
    exportDir: options.exportDir === undefined ? undefined : path.resolve(cwd, options.exportDir),
  });
  const undone = (code: string) => report.migrations?.results.find((r) => r.work.target.tenantCode === code)?.outcome.applied.length ?? 0;
  for (const t of report.tenants) {
    out({ event: 'tenant', plugin: report.pluginId, tenant: t.code, removed: t.removed, exported: report.exported.filter((e) => e.tenant === t.code).map((e) => ({ table: e.table, rows: e.rows, file: e.file })), migrationsUndone: undone(t.code) }, () => []);
  }
  const failures = report.migrations ? runFailures(report.migrations) : [];
  out({ event: 'summary', command: 'uninstall', plugin: report.pluginId, dataDropped: options.dropData, exportedFiles: report.exported.length, leftTables: report.leftTables, failures, exitCode: report.exitCode }, () => [
    `Plugin ${report.pluginId}: uninstalled from ${report.tenants.length} tenant(s); ${options.dropData ? 'its migrations undone there' : 'its tables and data kept'}.`,
    ...table([['tenant', 'was installed', 'tables exported', 'migrations undone'], ...report.tenants.map((t) => [t.code, t.removed ? 'yes' : 'no', options.exportDir ? String(report.exported.filter((e) => e.tenant === t.code).length) : '-', options.dropData ? String(undone(t.code)) : '-'])]),
    ...(options.exportDir ? [`Export: ${report.exported.length} file(s) under ${path.resolve(cwd, options.exportDir)}`] : []),
    ...report.leftTables.map((t) => `  left in tenant ${t.tenant}: table ${t.table} (not dropped by the plugin's down files)`),
    ...failures.map((f) => `  ${f}`),
  ]);
  return report.exitCode;
}

/** What went wrong in a migration run, one message per target. */
function runFailures(report: RunReport): string[] {
  return [...report.results.flatMap((r) => (r.outcome.state !== 'done' ? [r.outcome.error] : [])), ...report.blocked.map((w) => w.blocked!.message)];
}

/** Unknown tenants are the database's answer, not the command line's: exit 1, naming them all. */
async function resolveTenants(database: Database, options: Options): Promise<TenantRef[]> {
  const { tenants, unknown } = await findTenants(database.pool, options.all ? 'all' : options.tenants!);
  if (unknown.length > 0) throw new CliError(`No tenant has the code ${unknown.map((c) => `"${c}"`).join(', ')}: nothing done. \`foundation-module tenants list\` lists them.`, 1);
  return tenants;
}

/** Module folders: those given (each must be one), else the default places; `list` does without any. */
function moduleDirs(given: string[] | undefined, cwd: string, required: boolean): string[] {
  if (given) return resolveModuleDirs(given, cwd, 'plugins');
  try {
    return resolveModuleDirs([], cwd, 'plugins');
  } catch (error) {
    if (!required) return [];
    throw new CliError(`${(error as Error).message.replace(/: run inside.*$/s, '')}: pass the plugin's module folder with --modules <dir>. Nothing done.`, 1);
  }
}

/** The module folder of `pluginId`, read and checked (contract major, files) as the runner reads it. */
function findModule(pluginId: string, dirs: string[]): ModuleMigrations {
  const problems: string[] = [];
  const found: ModuleMigrations[] = [];
  for (const dir of dirs) {
    try {
      const module = readModuleMigrations(dir);
      if (module.id === pluginId) found.push(module);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (found.length > 1) throw new CliError(`Two module folders have the plugin id "${pluginId}": ${found.map((m) => m.dir).join(' and ')}. Name one with --modules.`, 1);
  if (found[0]) return found[0];
  const why = problems.length > 0 ? ` ${problems.join(' ')}` : ` (looked in ${dirs.length} folder(s)); name it with --modules <dir>.`;
  throw new CliError(`No readable module folder has the plugin id "${pluginId}": nothing done.${why}`, 1);
}

function readOptions(sub: Subcommand, positional: string[], args: Record<string, unknown>) {
  const values = (flag: string) => flagValues(args, flag);
  const one = (flag: string) => singleFlagValue(args, flag);
  const flag = (name: string) => {
    const raw = args[name];
    if (Array.isArray(raw)) throw new UsageError(`--${name} is given ${raw.length} times; give it once.`);
    return raw === true;
  };
  for (const [option, subs] of Object.entries(ONLY_FOR)) {
    if (args[option] !== undefined && args[option] !== false && !subs.includes(sub)) throw new UsageError(`--${option} does not go with plugins ${sub} (only with ${subs.join(', ')}).`);
  }
  if (sub === 'list' ? positional.length > 0 : positional.length !== 1) {
    throw new UsageError(sub === 'list' ? `plugins list takes no argument (got ${JSON.stringify(positional[0])}).` : positional.length === 0
      ? `plugins ${sub} needs a plugin id: foundation-module plugins ${sub} <id>.` : `plugins ${sub} takes one plugin id (got ${positional.map((p) => JSON.stringify(p)).join(', ')}).`);
  }
  const pluginId = positional[0];
  const idProblem = pluginId === undefined ? undefined : pluginIdProblem(pluginId);
  if (idProblem) throw new UsageError(`${JSON.stringify(pluginId)} is not a plugin id: it ${idProblem}.`);
  const tenants = values('tenant');
  for (const code of tenants ?? []) {
    const problem = tenantCodeProblem(code);
    if (problem) throw new UsageError(`--tenant ${JSON.stringify(code)} is not a tenant code: it ${problem}.`);
  }
  const twice = tenants?.find((code, i) => tenants.indexOf(code) !== i);
  if (twice) throw new UsageError(`--tenant ${twice} is given twice.`);
  const all = flag('all');
  if (tenants && all) throw new UsageError('Give --tenant or --all, not both.');
  if (sub === 'uninstall' && !tenants && !all) throw new UsageError(`plugins uninstall needs the tenants: --tenant <code> (repeatable) or --all.`);
  const dropData = flag('drop-data');
  const confirm = one('confirm');
  if (confirm !== undefined && !dropData) throw new UsageError('--confirm goes with --drop-data only.');
  if (dropData && confirm !== pluginId) {
    throw new UsageError(`--drop-data deletes the plugin's tables and rows in those tenants: confirm with --confirm ${pluginId}${confirm === undefined ? '' : ` (got ${JSON.stringify(confirm)})`}.`);
  }
  return {
    pluginId, tenants, all, dropData, confirm, json: flag('json'),
    modules: values('modules'), exportDir: one('export'), databaseUrl: one('database-url'), sandboxDir: one('sandbox-dir'),
  };
}
