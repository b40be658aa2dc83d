/**
 * `foundation-module tenants create|list|drop`: the tenant service (sandbox/data/tenants.ts) from
 * the command line, on DATABASE_URL / --database-url, else the embedded database of --sandbox-dir.
 * `create` then runs the migration runner in the new tenants, so a tenant is ready when it ends;
 * run again after any failure or kill, it finishes what is left and repeats nothing.
 */
import { SingleBar } from 'cli-progress';
import mri from 'mri';
import { tenantCodeProblem } from '../../rules/index.ts';
import type { Database } from '../../sandbox/data/database.ts';
import {
  createTenants, DEFAULT_TENANT_BATCH, domainProblem, dropTenant, listTenants, tenantNameProblem, type TenantCreation,
} from '../../sandbox/data/tenants.ts';
import { PlanError, type ModuleMigrations } from '../../operations/migrations/plan.ts';
import { DEFAULT_CONCURRENCY, runMigrations, type RunEvent, type RunReport } from '../../operations/migrations/runner.ts';
import { installedPlugins } from '../../operations/registry/enablement.ts';
import { CliError, UsageError } from '../errors.ts';
import { foundationAt, missingSystemTables, openOperatorDatabase } from '../operator-database.ts';
import { flagValues, singleFlagValue } from '../flag-values.ts';
import { stopOnCtrlC } from '../interrupt.ts';
import { createOutput, summaryOf, table } from '../migrate/output.ts';
import { readModuleFolders, resolveModuleDirs } from '../module-dirs.ts';

export const TENANTS_HELP = `Usage: foundation-module tenants <create|list|drop> [options]

  create <code>…     create tenants (row and schema, in batches), then run the migrations of
                     every globally enabled plugin in them. A code that exists is kept as it is
                     and its migrations are completed: after a failure, run the same command again
  list               every tenant: code, id, name, domain, schema (and whether it exists), plugins on
  drop <code>        delete the tenant's schema with all its data, and its row: needs --confirm <code>

Options:
  --name <text>          create, one code: display name (default: from the code, acme-corp is "Acme Corp")
  --domain <host>        create, one code: the host name that resolves to the tenant
  --modules <dir>        create: a module folder (repeatable). Default: the current module, else
                         every module under examples/ or src/modules/
  --batch <n>            create: tenants per transaction (default ${DEFAULT_TENANT_BATCH}) and per migration wave
  --concurrency <n>      create: tenants migrated at once (default ${DEFAULT_CONCURRENCY})
  --confirm <code>       drop: the tenant's code again
  --lock-timeout <ms>    drop: how long to wait for the tenant's tables to be free (default 10000)
  --json                 create, drop: one JSON object per line; list: one JSON array
  --database-url <url>   the PostgreSQL to work on (default: DATABASE_URL)
  --sandbox-dir <dir>    without a database URL, the embedded database's folder (default ./.sandbox)

Exit codes: 0 done, 1 a tenant failed or a plugin could not be migrated, 2 usage,
3 lock contention or quarantine.
`;

/** Which options each subcommand takes, besides --json, --database-url, --sandbox-dir, --help. */
const OPTIONS = { create: ['name', 'domain', 'modules', 'batch', 'concurrency'], list: [], drop: ['confirm', 'lock-timeout'] } as const;
type Sub = keyof typeof OPTIONS;
const STRINGS = ['name', 'domain', 'modules', 'batch', 'concurrency', 'confirm', 'lock-timeout', 'database-url', 'sandbox-dir'];
const BOOLEANS = ['json', 'help'];

export interface TenantsIo {
  /** Where relative module folders and the default module search start. @default process.cwd() */
  cwd?: string;
  /** One line of output. @default console.log */
  write?: (line: string) => void;
}

export async function tenantsCommand(argv: string[], kitVersion: string, { cwd = process.cwd(), write = (line: string) => console.log(line) }: TenantsIo = {}): Promise<number> {
  // Copies: mri pushes aliases into the arrays it is given, so shared ones would grow with every call.
  const args = mri(argv, { boolean: [...BOOLEANS], string: [...STRINGS], alias: { h: 'help' } });
  const unknown = Object.keys(args).find((key) => key !== '_' && key !== 'h' && !STRINGS.includes(key) && !BOOLEANS.includes(key));
  if (unknown) throw new UsageError(`Unknown option --${unknown}. Run foundation-module tenants --help for the options.`);
  const [sub, ...codes] = args._.map(String);
  if (args.help || !sub) {
    write(`${TENANTS_HELP}\n(create-foundation-module ${kitVersion})`);
    return args.help ? 0 : 2;
  }
  if (!(sub in OPTIONS)) throw new UsageError(`Unknown tenants command "${sub}": use create, list or drop.`);
  const options = readOptions(sub as Sub, args, codes);
  if (sub !== 'list' && foundationAt(cwd)) {
    throw new CliError(`${cwd} is a foundation: its tenants are made and dropped by the foundation itself, not by foundation-module tenants ${sub}. ` +
      "After making one, run foundation-module migrate up there: the new tenant gets the modules' tables.", 1);
  }
  const modules = sub === 'create' ? findModules(options.modules, cwd) : undefined;
  const database = await openOperatorDatabase({ databaseUrl: options.databaseUrl, sandboxDir: options.sandboxDir, maxConnections: (options.concurrency ?? DEFAULT_CONCURRENCY) + 2 }, cwd, write);
  try {
    await database.refreshTenants();
    if (sub === 'list') return await list(database, options, write);
    if (sub === 'drop') return await drop(database, codes[0]!, options, write);
    return await create(database, codes, modules!, options, write);
  } catch (error) {
    throw error instanceof PlanError ? new CliError(error.message, 1) : error;
  } finally {
    await database.close();
  }
}

type Options = ReturnType<typeof readOptions>;

async function list({ pool }: Database, options: Options, write: (line: string) => void): Promise<number> {
  const tenants = await listTenants(pool);
  if (options.json) write(JSON.stringify(tenants));
  else if (tenants.length === 0) write('No tenants. Create one: foundation-module tenants create <code>');
  else {
    table([['code', 'id', 'name', 'domain', 'schema', 'schema exists', 'plugins on'],
      ...tenants.map((t) => [t.code, t.id, t.name, t.domain ?? '', t.schema, t.schemaExists ? 'yes' : 'MISSING', String(t.pluginsEnabled)])]).forEach((line) => write(line));
  }
  return 0;
}

async function drop({ pool }: Database, code: string, options: Options, write: (line: string) => void): Promise<number> {
  // Asked first: dropping would create the system tables of a database the kit never set up.
  if ((await missingSystemTables({ pool }, ['public.sys_tenant'])).length > 0) {
    throw new CliError(`There is no tenant "${code}" (this database has no foundation-module system tables): nothing was dropped.`, 1);
  }
  let dropped;
  try {
    dropped = await dropTenant({ pool, code, confirm: options.confirm!, lockTimeoutMs: options.lockTimeoutMs });
  } catch (error) {
    // lock_not_available, deadlock_detected: a request or a migration holds the tenant's tables.
    if (['55P03', '40P01'].includes((error as { code?: string }).code ?? '')) {
      throw new CliError(`Tenant "${code}" is in use (its tables stayed locked for ${options.lockTimeoutMs ?? 10_000} ms): nothing was dropped. Try again when the migration or request using it has ended.`, 3);
    }
    throw error;
  }
  if (!dropped) throw new CliError(`There is no tenant "${code}": nothing was dropped. foundation-module tenants list shows them.`, 1);
  if (options.json) write(JSON.stringify({ event: 'dropped', ...dropped }));
  else write(`Dropped tenant ${code} (${dropped.id}): schema ${dropped.schema}${dropped.schemaExisted ? ' with all its data' : ' (it was already gone)'}, its row, roles, plugin settings and migration ledger rows.`);
  return 0;
}

interface Found {
  modules: ModuleMigrations[];
  /** Why there are none, when none were found. */
  none?: string;
}

/** Module folders are read before the database is opened: a bad one fails at once. */
function findModules(given: string[] | undefined, cwd: string): Found {
  let dirs: string[];
  try {
    dirs = resolveModuleDirs(given ?? [], cwd, 'tenants create --modules');
  } catch (error) {
    if (given || !(error instanceof UsageError)) throw error;
    return { modules: [], none: `no module folder in ${cwd} (nor under examples/ or src/modules/)` };
  }
  return { modules: readModuleFolders(dirs) };
}

async function create({ pool }: Database, codes: string[], found: Found, options: Options, write: (line: string) => void): Promise<number> {
  const started = performance.now();
  const out = createReporter(options.json, write);
  const interrupt = stopOnCtrlC('tenants', 'batch or tenants');
  try {
    const tenants = codes.map((code) => ({ code, name: options.name, domain: options.domain }));
    const created = await createTenants({ pool, tenants, batch: options.batch, signal: interrupt.signal, onTenant: out.tenant });
    // A tenant whose schema went missing is not recreated empty: its ledger would then lie.
    const problems = new Map(created.filter((t) => t.state === 'failed' || !t.schemaExists)
      .map((t) => [t.code, t.error ?? `it exists, but its schema "${t.schema}" is missing: restore the schema, or drop the tenant and create it again`]));
    const ready = created.filter((t) => !problems.has(t.code)).map((t) => t.code);

    // What a new tenant's schema needs: the plugins installed and switched on globally.
    const enabled = (await installedPlugins(pool)).filter((p) => p.enabledGlobal).map((p) => p.pluginId);
    const toRun = found.modules.filter((m) => enabled.includes(m.id));
    const withoutFolder = enabled.filter((id) => !found.modules.some((m) => m.id === id));
    if (found.none) out.note(`Tenants are created without migrations: ${found.none}. Name the module folders with --modules, then run this command again.`);
    for (const id of withoutFolder) out.warning(id, `Plugin "${id}" is enabled but no module folder given has it: its migrations did not run in these tenants. Run this command again with --modules <its folder>.`);
    for (const m of found.modules.filter((x) => !enabled.includes(x.id))) out.note(`Module ${m.id} (${m.dir}) is not installed and enabled globally: its migrations did not run.`);

    let report: RunReport | undefined;
    if (toRun.length > 0 && ready.length > 0 && !interrupt.signal.aborted) {
      report = await runMigrations({ pool, modules: toRun, tenants: ready, concurrency: options.concurrency, batch: options.batch, signal: interrupt.signal, onEvent: out.migration });
      for (const r of report.results) if (r.outcome.state !== 'done') problems.set(r.work.target.tenantCode ?? 'public', `${r.outcome.state}: ${r.outcome.error}`);
      for (const w of report.blocked) problems.set(w.target.tenantCode ?? 'public', `${w.blocked!.reason}: ${w.blocked!.message}`);
    }
    const notStarted = codes.length - created.length + (report?.notStarted ?? 0);
    const migrated = new Set(report?.results.filter((r) => r.outcome.applied.length > 0 && r.work.target.tenantCode).map((r) => r.work.target.tenantCode!));
    const counts = {
      tenants: codes.length, created: created.filter((t) => t.state === 'created').length, existing: created.filter((t) => t.state === 'exists').length,
      migrated: [...migrated].filter((code) => !problems.has(code)).length, failed: [...problems.keys()].filter((code) => code !== 'public').length, notStarted,
    };
    const failing = problems.size > 0 || withoutFolder.length > 0 || notStarted > 0;
    const exitCode = report?.exitCode === 3 ? 3 : failing ? 1 : 0;
    out.finish({ exitCode, ...counts, elapsedMs: Math.round(performance.now() - started), report, problems });
    return exitCode;
  } finally {
    interrupt.dispose();
  }
}

interface Summary {
  exitCode: number;
  /** Codes asked for. */
  tenants: number;
  created: number;
  existing: number;
  migrated: number;
  failed: number;
  notStarted: number;
  elapsedMs: number;
  report: RunReport | undefined;
  /** Tenant code (or `public`) → what went wrong. */
  problems: Map<string, string>;
}

/** JSON lines (migration events as `migrate --json` writes them), or plain lines and a progress bar. */
function createReporter(json: boolean, write: (line: string) => void) {
  const migrateJson = createOutput({ json: true, tty: false, write });
  let bar: SingleBar | undefined;
  return {
    tenant(t: TenantCreation) {
      if (json) write(JSON.stringify({ event: 'tenant', code: t.code, state: t.state, id: t.id, name: t.name, domain: t.domain, schema: t.schema, schemaExists: t.schemaExists, ...(t.error ? { error: t.error } : {}) }));
      else if (t.state === 'failed') write(`  FAILED ${t.code}: ${t.error}`);
    },
    note: (message: string) => write(json ? JSON.stringify({ event: 'note', message }) : `Note: ${message}`),
    warning: (plugin: string, message: string) => write(json ? JSON.stringify({ event: 'warning', plugin, message }) : `Warning: ${message}`),
    migration(event: RunEvent) {
      if (json) return migrateJson.onEvent(event);
      if (event.type === 'planned' && event.runnable > 0) {
        write(`Migrating: ${event.runnable} target(s), ${event.concurrency} at a time.`);
        if (process.stderr.isTTY) {
          bar = new SingleBar({ format: '  {bar} {value}/{total} targets | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, etaBuffer: 50 });
          bar.start(event.runnable, 0);
        }
      } else if (event.type === 'started' && !bar) write(`  migration run ${event.runId}`);
      else if (event.type === 'target') bar?.update(event.done);
    },
    finish({ report, problems, ...summary }: Summary) {
      bar?.stop();
      if (json) {
        write(JSON.stringify({ event: 'summary', ...summary, runId: report?.runId ?? null, failures: [...problems].map(([tenant, error]) => ({ tenant, error })), migrations: report ? summaryOf(report) : null }));
        return;
      }
      write(`${summary.tenants} tenant(s) in ${(summary.elapsedMs / 1000).toFixed(1)} s${report?.runId ? ` (migration run ${report.runId})` : ''}:`);
      table([['created', 'existing', 'migrated', 'failed', ...(summary.notStarted ? ['not started'] : [])],
        [summary.created, summary.existing, summary.migrated, summary.failed, ...(summary.notStarted ? [summary.notStarted] : [])].map(String)]).forEach((line) => write(line));
      const lines = [...problems].map(([tenant, error]) => `  ${tenant}: ${error}`);
      if (lines.length > 0) write(['Problems:', ...lines.slice(0, 50), ...(lines.length > 50 ? [`  … and ${lines.length - 50} more (--json lists them all)`] : [])].join('\n'));
      if (summary.exitCode !== 0) write('Fix the cause, then run the same command again: tenants that exist are kept, and only what is left runs.');
    },
  };
}

function readOptions(sub: Sub, args: Record<string, unknown>, codes: string[]) {
  const allowed: readonly string[] = OPTIONS[sub];
  const misplaced = STRINGS.find((flag) => args[flag] !== undefined && !allowed.includes(flag) && flag !== 'database-url' && flag !== 'sandbox-dir');
  if (misplaced) throw new UsageError(`--${misplaced} is not an option of tenants ${sub}.`);
  const values = (flag: string) => flagValues(args, flag);
  const one = (flag: string, problem: (value: string) => string | undefined = () => undefined) => {
    const given = singleFlagValue(args, flag);
    const why = given !== undefined && problem(given);
    if (why) throw new UsageError(`--${flag} ${JSON.stringify(given)} ${why}.`);
    return given;
  };
  const integer = (flag: string, min: number, max: number) => {
    const text = one(flag);
    if (text !== undefined && (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)}).`);
    return text === undefined ? undefined : Number(text);
  };

  if (sub === 'list' && codes.length > 0) throw new UsageError(`tenants list takes no arguments (got ${JSON.stringify(codes[0])}).`);
  if (sub !== 'list' && codes.length === 0) throw new UsageError(`tenants ${sub} needs a tenant code: foundation-module tenants ${sub} <code>${sub === 'drop' ? ' --confirm <code>' : '…'}`);
  for (const code of codes) {
    const why = tenantCodeProblem(code);
    if (why) throw new UsageError(`${JSON.stringify(code)} is not a tenant code: it ${why}.`);
  }
  const seen = new Set<string>();
  const twice = codes.find((code) => seen.size === seen.add(code).size);
  if (twice) throw new UsageError(`Tenant code "${twice}" is given twice.`);
  const name = one('name', tenantNameProblem);
  const domain = one('domain', domainProblem);
  for (const [flag, value] of [['name', name], ['domain', domain]] as const) {
    if (value !== undefined && codes.length > 1) throw new UsageError(`--${flag} is for one tenant, and ${codes.length} codes are given: create them one by one, or without --${flag}.`);
  }
  const confirm = one('confirm');
  if (sub === 'drop') {
    if (codes.length > 1) throw new UsageError(`tenants drop takes one code at a time (got ${codes.length}).`);
    if (confirm === undefined) throw new UsageError(`Dropping tenant "${codes[0]}" deletes its schema and all its data. To go ahead, give its code again: --confirm ${codes[0]}`);
    if (confirm !== codes[0]) throw new UsageError(`--confirm "${confirm}" is not the code being dropped ("${codes[0]}"): nothing was dropped.`);
  }
  return {
    name, domain, confirm,
    modules: values('modules'),
    batch: integer('batch', 1, 10_000),
    concurrency: integer('concurrency', 1, 64),
    lockTimeoutMs: integer('lock-timeout', 1, 3_600_000),
    json: args.json === true,
    databaseUrl: one('database-url'),
    sandboxDir: one('sandbox-dir'),
  };
}
