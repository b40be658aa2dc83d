/**
 * `foundation-module plugins config <id> [--tenant <code>] list|get|set|unset`: a plugin's
 * configuration, global or per tenant, through the registry's service (sandbox/registry/config-admin.ts).
 * Values are checked against the module's schema (module.config.ts `configSchema` for tenants,
 * `globalConfigSchema` for global), read from its catalog without running its code in this process
 * (sandbox/plugins/catalog.ts). The command line, the value's JSON and the schema are all checked
 * before the database is opened.
 */
import path from 'node:path';
import { configKeyProblem, pluginIdProblem, tenantCodeProblem } from '../../rules/index.ts';
import type { Database } from '../../sandbox/data/database.ts';
import { MODULE_MANIFEST, readModuleCatalog, type ModuleCatalog } from '../../sandbox/plugins/catalog.ts';
import { compileConfigSchema, jsonPath, SCHEMA_FIELD, type ConfigLevel, type ConfigSchema } from '../../sandbox/plugins/config-schema.ts';
import { readStaticMeta } from '../../sandbox/plugins/static-meta.ts';
import {
  configValueProblems, ConfigWriteError, describeTarget, MAX_CONFIG_BYTES, readPluginConfig, setPluginConfig, type ConfigTarget,
} from '../../operations/registry/config-admin.ts';
import { MAX_CONFIG_DEPTH, readableConfig, unsetCommand } from '../../operations/registry/config-depth.ts';
import { findTenants } from '../../operations/registry/enablement.ts';
import { CliError, UsageError } from '../errors.ts';
import { missingSystemTables, noSystemTables, openOperatorDatabase } from '../operator-database.ts';
import { table } from '../migrate/output.ts';
import { resolveModuleDirs } from '../module-dirs.ts';

export const configHelp = (kitVersion: string) => `Usage: foundation-module plugins config <id> [--tenant <code>] <list|get|set|unset> [<key> [<json>]]   (kit ${kitVersion})

  list                   every key: its value, or its schema default
  get <key>              one key's value (or its schema default)
  set <key> <json>       set one key; the value is JSON: 50, true, '"blue"', '{"max": 3}', -1
  unset <key>            remove one key: it reads as its schema default again

Without --tenant: the plugin's global configuration (module.config.ts globalConfigSchema);
with it: that tenant's (configSchema). set and unset check the whole resulting configuration
against that schema and refuse an invalid value, naming the field and what the schema wants.

Options:
  --tenant <code>        a tenant's configuration instead of the global one
  --modules <dir>        the module folder (repeatable); default: the current module, else every
                         module under examples/ or src/modules/
  --json                 one JSON object per line
  --database-url <url>   the PostgreSQL (default DATABASE_URL, else the embedded one of --sandbox-dir)
  --sandbox-dir <dir>    the embedded database's folder (default ./.sandbox)

Exit codes: 0 done, 1 refused (an invalid value, an unknown tenant, a plugin not installed, no
schema to check with), 2 usage (an unknown option, a bad key, a value that is not JSON).
`;

type Out = (event: Record<string, unknown>, lines: () => string[]) => void;

export interface PluginsConfigOptions {
  cwd: string;
  write: (line: string) => void;
}

export async function pluginsConfigCommand(argv: string[], kitVersion: string, { cwd, write }: PluginsConfigOptions): Promise<number> {
  const args = readConfigArgs(argv);
  if (args === 'help' || args === 'usage') {
    write(configHelp(kitVersion));
    return args === 'help' ? 0 : 2;
  }
  const idProblem = pluginIdProblem(args.pluginId);
  if (idProblem) throw new UsageError(`${JSON.stringify(args.pluginId)} is not a plugin id: it ${idProblem}.`);
  if (args.tenant !== undefined) {
    const problem = tenantCodeProblem(args.tenant);
    if (problem) throw new UsageError(`--tenant ${JSON.stringify(args.tenant)} is not a tenant code: it ${problem}.`);
  }
  if (args.key !== undefined) {
    const problem = configKeyProblem(args.key);
    if (problem) throw new UsageError(`${JSON.stringify(args.key)} is not a configuration key: it ${problem}.`);
  }
  const value = args.action === 'set' ? parseValue(args.key!, args.valueText!) : undefined;
  const level: ConfigLevel = args.tenant === undefined ? 'global' : 'tenant';
  const writes = args.action === 'set' || args.action === 'unset';
  const schema = await schemaOf(args, level, cwd, writes);

  const database = await openOperatorDatabase({ databaseUrl: args.databaseUrl, sandboxDir: args.sandboxDir && path.resolve(cwd, args.sandboxDir), maxConnections: 2 }, cwd, write);
  const out: Out = (event, lines) => (args.json ? write(JSON.stringify(event)) : lines().forEach((line) => write(line)));
  try {
    await database.refreshTenants();
    const missing = await missingSystemTables(database, ['public.sys_plugins', 'public.sys_tenant_plugins']);
    if (missing.length > 0) throw new CliError(noSystemTables(missing), 1);
    const target = await targetOf(database, args);
    if (writes) return await change(database, target, args.key!, value, schema.schema, out);
    const raw = await readPluginConfig(database.pool, target);
    if (!raw) throw new CliError(notInstalled(target), 1);
    // Shown as plugins read it: a key nested too deep (written with SQL) as not set, and named.
    const { config: stored, tooDeep } = readableConfig(raw);
    const unreadable = tooDeep.map((key) => ({ key, path: jsonPath([key]), message: `nests deeper than ${MAX_CONFIG_DEPTH} levels` }));
    return args.action === 'get'
      ? get(target, stored, args.key!, schema, unreadable.filter((u) => u.key === args.key), out)
      : list(target, stored, schema, unreadable, out);
  } catch (error) {
    throw error instanceof ConfigWriteError ? new CliError(error.message, 1) : error;
  } finally {
    await database.close();
  }
}

/** The value as JSON: not JSON is a usage mistake (2); JSON no configuration may hold is a refusal (1). */
function parseValue(key: string, text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`The value of ${key} is not JSON (${(error as Error).message}). Write JSON: 50, true, null, '"blue"' (a string keeps its double quotes inside the shell's), '{"max": 3}'.`);
  }
  const problems = configValueProblems(value, [key]);
  if (problems.length > 0) throw new CliError(`Refused: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}. Nothing changed.`, 1);
  // The whole configuration is measured again when written; a value too large alone needs no database to refuse.
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new CliError(`Refused: the value of ${key} is ${Buffer.byteLength(text)} bytes long, over the ${MAX_CONFIG_BYTES} bytes a configuration may hold; keep large data in the module's tables. Nothing changed.`, 1);
  return value;
}

interface SchemaFound {
  schema?: ConfigSchema;
  /** Why there is none, for a note (reads) or a refusal (writes). */
  missing?: string;
}

/** The module's schema for `level`, from its catalog; writes can't go on without it, reads go on without defaults. */
async function schemaOf(args: ConfigArgs, level: ConfigLevel, cwd: string, required: boolean): Promise<SchemaFound> {
  const field = SCHEMA_FIELD[level];
  const refuse = (why: string): SchemaFound => {
    if (required) throw new CliError(`${why} Nothing changed.`, 1);
    return { missing: why };
  };
  const dirs = args.modules ? resolveModuleDirs(args.modules, cwd, 'plugins config') : defaultModuleDirs(cwd);
  const dir = dirs.find((candidate) => {
    try {
      return readStaticMeta(candidate).id === args.pluginId;
    } catch {
      return false;
    }
  });
  if (!dir) return refuse(`No module folder of plugin ${args.pluginId} found (looked in ${dirs.length}): its ${field} is needed to check values. Name it with --modules <dir>.`);
  let catalog: ModuleCatalog | undefined;
  try {
    catalog = await readModuleCatalog(dir);
  } catch (error) {
    throw new CliError(`${(error as Error).message} Nothing changed.`, 1);
  }
  if (!catalog) return refuse(`The ${field} of ${args.pluginId} can't be read here: this process can't load the module's TypeScript (install tsx beside it) and ${path.join(dir, MODULE_MANIFEST)} does not exist.`);
  if (catalog[field] === undefined) {
    return refuse(`Plugin ${args.pluginId} takes no ${level} configuration: its module.config.ts declares no ${field}.`);
  }
  try {
    return { schema: compileConfigSchema(catalog[field], field) };
  } catch (error) {
    throw new CliError(`Module ${dir}: ${(error as Error).message}. Nothing changed.`, 1);
  }
}

function defaultModuleDirs(cwd: string): string[] {
  try {
    return resolveModuleDirs([], cwd, 'plugins config');
  } catch {
    return [];
  }
}

async function targetOf(database: Database, args: ConfigArgs): Promise<ConfigTarget> {
  if (args.tenant === undefined) return { pluginId: args.pluginId };
  const { tenants } = await findTenants(database.pool, [args.tenant]);
  if (!tenants[0]) throw new CliError(`No tenant has the code "${args.tenant}": nothing done. \`foundation-module tenants list\` lists them.`, 1);
  return { pluginId: args.pluginId, tenant: { id: tenants[0].id, code: tenants[0].code } };
}

const notInstalled = (target: ConfigTarget) => (target.tenant
  ? `Plugin ${target.pluginId} is not installed in tenant ${target.tenant.code}: foundation-module plugins enable ${target.pluginId} --tenant ${target.tenant.code} installs it.`
  : `Plugin ${target.pluginId} is not installed (no row in sys_plugins): foundation-module plugins enable ${target.pluginId} installs it.`);

const show = (value: unknown) => (value === undefined ? '(not set)' : JSON.stringify(value));
const base = (target: ConfigTarget) => ({ plugin: target.pluginId, tenant: target.tenant?.code ?? null });

async function change(database: Database, target: ConfigTarget, key: string, value: unknown, schema: ConfigSchema | undefined, out: Out): Promise<number> {
  const { previous, previousTooDeep, config } = await setPluginConfig({ pool: database.pool, ...target, key, value, schema });
  const fallback = value === undefined && schema ? schema.withDefaults(config)[key] : undefined;
  const was = previousTooDeep ? `a value nested deeper than ${MAX_CONFIG_DEPTH} levels` : previous === undefined ? 'not set' : JSON.stringify(previous);
  out({
    event: 'config', command: value === undefined ? 'unset' : 'set', ...base(target), key, value: value ?? null, previous: previous ?? null,
    ...(previousTooDeep ? { previousTooDeep } : {}), ...(value === undefined ? { default: fallback ?? null } : {}),
  }, () => [
    value === undefined
      ? `${capitalised(describeTarget(target))}: ${key} removed (was ${was})${fallback === undefined ? '' : `; it reads as its default ${JSON.stringify(fallback)}`}.`
      : `${capitalised(describeTarget(target))}: ${key} = ${JSON.stringify(value)} (was ${was}).`,
  ]);
  return 0;
}

interface Unreadable {
  key: string;
  path: string;
  message: string;
}

const unreadableLine = (target: ConfigTarget, { key, path: at, message }: Unreadable) =>
  `Unreadable (written around this command?): ${at} ${message}: plugins read it as not set. ${unsetCommand(target.pluginId, target.tenant?.code, key)} removes it.`;

type Source = 'set' | 'default' | 'none';

function entryOf(stored: Record<string, unknown>, full: Record<string, unknown>, key: string): { value: unknown; source: Source } {
  if (Object.hasOwn(stored, key)) return { value: stored[key], source: 'set' };
  if (Object.hasOwn(full, key) && full[key] !== undefined) return { value: full[key], source: 'default' };
  return { value: undefined, source: 'none' };
}

function get(target: ConfigTarget, stored: Record<string, unknown>, key: string, found: SchemaFound, unreadable: Unreadable[], out: Out): number {
  const { value, source } = entryOf(stored, found.schema?.withDefaults(stored) ?? stored, key);
  out({ event: 'config', ...base(target), key, value: value ?? null, source, ...(unreadable.length > 0 ? { unreadable: unreadable[0]!.message } : {}) }, () => [
    source === 'set' ? JSON.stringify(value) : source === 'default' ? `${JSON.stringify(value)} (default)` : '(not set)',
    ...unreadable.map((u) => unreadableLine(target, u)),
    ...(found.missing ? [`Note: ${found.missing} Defaults are not shown.`] : []),
  ]);
  return 0;
}

function list(target: ConfigTarget, stored: Record<string, unknown>, found: SchemaFound, unreadable: Unreadable[], out: Out): number {
  const full = found.schema?.withDefaults(stored) ?? stored;
  const declared = Object.keys((found.schema?.source.properties as Record<string, unknown> | undefined) ?? {});
  const keys = [...new Set([...Object.keys(stored), ...declared, ...unreadable.map((u) => u.key)])].sort();
  const problems = found.schema?.problems(stored) ?? [];
  const entries = keys.map((key) => ({ key, ...entryOf(stored, full, key) }));
  for (const entry of entries) out({ event: 'config', ...base(target), key: entry.key, value: entry.value ?? null, source: entry.source }, () => []);
  out({ event: 'summary', command: 'list', ...base(target), keys: keys.length, problems, ...(unreadable.length > 0 ? { unreadable: unreadable.map(({ path: at, message }) => ({ path: at, message })) } : {}) }, () => [
    `${capitalised(describeTarget(target))}: ${keys.length} key(s).`,
    ...(entries.length > 0 ? table([['key', 'value', 'source'], ...entries.map((e) => [e.key, clip(show(e.value)), e.source === 'none' ? '' : e.source])]) : []),
    ...problems.map((p) => `Invalid (written around this command?): ${p.path} ${p.message}`),
    ...unreadable.map((u) => unreadableLine(target, u)),
    ...(found.missing ? [`Note: ${found.missing} Defaults are not shown.`] : []),
  ]);
  return 0;
}

const clip = (text: string) => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
const capitalised = (text: string) => text[0]!.toUpperCase() + text.slice(1);

const ACTIONS = { list: 0, get: 1, unset: 1, set: 2 } as const;
type Action = keyof typeof ACTIONS;
const STRINGS = ['tenant', 'modules', 'database-url', 'sandbox-dir'];
const BOOLEANS = ['json', 'help'];

interface ConfigArgs {
  pluginId: string;
  action: Action;
  key?: string;
  /** The text of `set`'s value, JSON. */
  valueText?: string;
  tenant?: string;
  modules?: string[];
  databaseUrl?: string;
  sandboxDir?: string;
  json: boolean;
}

/**
 * The command line, read by hand rather than with mri: a JSON value may be a negative number
 * (`set offset -1`), which mri would read as the option `-1`. A token is an option only when it
 * starts with `--` (or is `-h`); `--` ends the options.
 */
function readConfigArgs(argv: string[]): ConfigArgs | 'help' | 'usage' {
  const positional: string[] = [];
  const strings: Record<string, string[]> = {};
  const booleans = new Set<string>();
  let optionsEnd = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (optionsEnd || (!token.startsWith('--') && token !== '-h' && !/^-[A-Za-z]/.test(token))) {
      positional.push(token);
    } else if (token === '--') {
      optionsEnd = true;
    } else if (token === '-h' || token === '--help') {
      booleans.add('help');
    } else if (token.startsWith('--')) {
      const equals = token.indexOf('=');
      const name = token.slice(2, equals < 0 ? undefined : equals);
      if (STRINGS.includes(name)) {
        const value = equals < 0 ? argv[++i] : token.slice(equals + 1);
        if (value === undefined || value === '' || (equals < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value.`);
        (strings[name] ??= []).push(value);
      } else if (BOOLEANS.includes(name) && equals < 0) {
        if (booleans.has(name)) throw new UsageError(`--${name} is given twice; give it once.`);
        booleans.add(name);
      } else {
        throw new UsageError(BOOLEANS.includes(name) ? `--${name} takes no value.` : `Unknown option --${name}. Run foundation-module plugins config --help for the options.`);
      }
    } else {
      throw new UsageError(`Unknown option ${token}. Run foundation-module plugins config --help for the options.`);
    }
  }
  if (booleans.has('help')) return 'help';
  if (positional.length === 0) return 'usage';
  for (const name of ['tenant', 'database-url', 'sandbox-dir']) {
    if ((strings[name]?.length ?? 0) > 1) throw new UsageError(`--${name} is given ${strings[name]!.length} times; give it once.`);
  }
  const [pluginId, action, ...rest] = positional;
  if (action === undefined) throw new UsageError(`plugins config ${pluginId} needs what to do: list, get <key>, set <key> <json> or unset <key>.`);
  if (!Object.hasOwn(ACTIONS, action)) throw new UsageError(`Unknown plugins config action ${JSON.stringify(action)}: use list, get <key>, set <key> <json> or unset <key>.`);
  const wanted = ACTIONS[action as Action];
  if (rest.length !== wanted) {
    const form = { list: 'list', get: 'get <key>', unset: 'unset <key>', set: 'set <key> <json>' }[action as Action];
    throw new UsageError(`plugins config ${pluginId} ${form} takes ${wanted === 0 ? 'no argument' : `${wanted} argument(s)`} (got ${rest.length === 0 ? 'none' : rest.map((r) => JSON.stringify(r.slice(0, 40))).join(', ')})${action === 'set' && rest.length > 2 ? ': quote the JSON value as one argument' : ''}.`);
  }
  return {
    pluginId: pluginId!, action: action as Action, key: rest[0], valueText: rest[1], tenant: strings.tenant?.[0], modules: strings.modules,
    databaseUrl: strings['database-url']?.[0], sandboxDir: strings['sandbox-dir']?.[0], json: booleans.has('json'),
  };
}
