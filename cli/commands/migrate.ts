/**
 * `foundation-module migrate status|validate|up|down [module dirs…]`: the migration runner
 * (sandbox/migrations/) from the command line, on DATABASE_URL / --database-url, else the
 * embedded database of `--sandbox-dir`. Reading migrations needs only the module folders.
 */
import mri from 'mri';
import { pluginIdProblem, tenantCodeProblem, UUID } from '../../rules/index.ts';
import { TenantMirrorError } from '../../sandbox/data/tenant-mirror.ts';
import { describeProblem, moduleFileProblems } from '../../operations/migrations/file-check.ts';
import { loadSqlParser } from '../../operations/migrations/sql-statements.ts';
import { planUp, PlanError, type ModuleMigrations } from '../../operations/migrations/plan.ts';
import { DEFAULT_CONCURRENCY, runMigrations } from '../../operations/migrations/runner.ts';
import { CliError, UsageError } from '../errors.ts';
import { stopOnCtrlC } from '../interrupt.ts';
import { createOutput, planLines } from '../migrate/output.ts';
import { readModuleFolders, resolveModuleDirs } from '../module-dirs.ts';
import { missingSystemTables, openOperatorDatabase, type OperatorDatabase } from '../operator-database.ts';

export const MIGRATE_HELP = `Usage: foundation-module migrate <status|validate|up|down> [module dirs…] [options]

  status     what is applied and pending, per plugin and target (public + each tenant)
  validate   check the files: names, numbering, checksums of applied files, and every statement
             parsed by PostgreSQL's grammar (syntax, transaction control, psql-only commands,
             statements that need -- migrate:no-transaction); exit 1 on a problem
  up         apply what is pending (--dry-run: print the plan and its SQL, and what would be
             refused; write nothing)
  down       undo the last applied file of each target (--to NNN: every file above NNN)

Modules: the folders named, else the current module, else every module under examples/ or
src/modules/. Database: --database-url or DATABASE_URL, else the embedded PostgreSQL of
--sandbox-dir (default ./.sandbox). In a foundation's root: its database (DATABASE_URL) and its
own tenant table, as tenantTable in src/lib/foundation-module/bindings.ts names it.

Options:
  --tenant <code>        only this tenant (repeat for more: a canary run); public always runs
  --plugin <id>          only this plugin (repeatable)
  --from <n>, --to <n>   only files numbered from / up to n (down: undo every file above --to)
  --dry-run              print the plan with its SQL; write nothing at all
  --concurrency <n>      tenants at once (default 8, capped by the server's free connections)
  --batch <n>            tenants per wave; --pause <ms> between waves
  --max-attempts <n>     failed runs in a row before a tenant is quarantined (default 3)
  --retry-quarantined    run quarantined tenants again
  --lock-timeout <ms>    how long a tenant waits for a lock before it is reported locked (default 10000)
  --resume <run id>      continue a run (its own tenants and plugins unless given again)
  --json                 one JSON object per line (events, then a summary)
  --database-url <url>   the PostgreSQL to migrate
  --sandbox-dir <dir>    the embedded database's folder (default ./.sandbox)

Exit codes: 0 done, 1 a target failed or is blocked, 2 usage, 3 lock contention or quarantine.
`;

const STRINGS = ['tenant', 'plugin', 'from', 'to', 'concurrency', 'batch', 'pause', 'max-attempts', 'lock-timeout', 'resume', 'database-url', 'sandbox-dir'];
const BOOLEANS = ['dry-run', 'json', 'retry-quarantined', 'help'];
const SUBCOMMANDS = ['status', 'validate', 'up', 'down'] as const;

export async function migrateCommand(argv: string[], { cwd = process.cwd(), write = (line: string) => console.log(line) } = {}): Promise<number> {
  // Copies: mri appends aliases to the arrays it is given, and these are shared by every call.
  const args = mri(argv, { boolean: [...BOOLEANS], string: [...STRINGS], alias: { h: 'help' } });
  const unknown = Object.keys(args).find((key) => key !== '_' && key !== 'h' && !STRINGS.includes(key) && !BOOLEANS.includes(key));
  if (unknown) throw new UsageError(`Unknown option --${unknown}. Run foundation-module migrate --help for the options.`);
  const [sub, ...dirs] = args._.map(String);
  if (args.help || !sub) {
    write(MIGRATE_HELP);
    return args.help ? 0 : 2;
  }
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`Unknown migrate command "${sub}": use ${SUBCOMMANDS.join(', ')}.`);
  const options = readOptions(args);
  const modules = readModuleFolders(resolveModuleDirs(dirs, cwd, 'migrate'));

  const database = await openOperatorDatabase({ databaseUrl: options.databaseUrl, sandboxDir: options.sandboxDir, maxConnections: (options.concurrency ?? DEFAULT_CONCURRENCY) + 2 }, cwd, write);
  const interrupt = stopOnCtrlC('migrate', 'targets');
  try {
    return await run(sub as (typeof SUBCOMMANDS)[number], modules, database, options, interrupt.signal, write);
  } catch (error) {
    throw error instanceof PlanError || error instanceof TenantMirrorError ? new CliError(error.message, 1) : error;
  } finally {
    interrupt.dispose();
    await database.close();
  }
}

type Options = ReturnType<typeof readOptions>;

async function run(sub: (typeof SUBCOMMANDS)[number], modules: ModuleMigrations[], database: OperatorDatabase, given: Options, signal: AbortSignal, write: (line: string) => void): Promise<number> {
  const { pool } = database;
  const options = { ...given, tenantDirectory: database.directory };
  if (sub === 'status' || sub === 'validate') {
    const plan = await planUp(pool, modules, options);
    if (sub === 'validate') await loadSqlParser();
    const files = sub === 'validate' ? moduleFileProblems(modules) : [];
    if (options.json) write(JSON.stringify({ event: sub, plan: planJson(plan), ...(sub === 'validate' ? { files } : {}) }));
    else planLines(plan, { sql: false }).forEach((line) => write(line));
    if (sub === 'status') return 0;
    // A file that can't run blocks every target it is pending in: counted once, as the file.
    const problems = plan.work.filter((w) => w.blocked && w.blocked.reason !== 'quarantined' && w.blocked.reason !== 'invalid').length + plan.unknownApplied.length + files.length;
    if (!options.json) {
      files.forEach((problem) => write(`INVALID ${describeProblem(problem)}`));
      write(problems === 0 ? 'Valid: every statement of every file can run, and every applied file matches its checksum.' : `${problems} problem(s).`);
    }
    return problems === 0 ? 0 : 1;
  }
  // No ledger: nothing was ever applied here, so nothing to undo (the runner would fail reading it).
  if (sub === 'down' && (await missingSystemTables(database, ['public.sys_plugin_migrations'])).length > 0) {
    write(options.json ? JSON.stringify({ event: 'summary', direction: 'down', exitCode: 0, applied: 0, systemTables: false })
      : 'Nothing to undo: this database has no foundation-module system tables, so no migration was ever applied here.');
    return 0;
  }
  const output = createOutput({ json: options.json, tty: !options.json && process.stderr.isTTY === true, write });
  // A dry run prints its plan below, not progress.
  const report = await runMigrations({ pool, modules, direction: sub, ...options, signal, onEvent: options.dryRun ? undefined : (event) => output.onEvent(event) });
  if (options.dryRun) {
    if (options.json) write(JSON.stringify({ event: 'dry-run', plan: planJson(report.plan) }));
    else ['Dry run: nothing written.', ...planLines(report.plan, { sql: true })].forEach((line) => write(line));
    return report.exitCode;
  }
  output.finish(report);
  return report.exitCode;
}

function planJson(plan: Awaited<ReturnType<typeof planUp>>): Record<string, unknown> {
  return {
    direction: plan.direction, tenants: plan.tenants.length, upToDate: plan.upToDate, uninstalled: plan.uninstalled, unknownApplied: plan.unknownApplied, empty: plan.empty,
    targets: plan.work.map((w) => ({
      plugin: w.module.id, scope: w.target.scope, tenant: w.target.tenantCode, schema: w.target.schema, files: w.files.map((f) => f.name),
      ...(w.blocked ? { blocked: w.blocked.reason, message: w.blocked.message } : {}),
    })),
  };
}

function readOptions(args: Record<string, unknown>) {
  const list = (flag: string, problem: (value: string) => string | undefined) => {
    const raw = args[flag];
    if (raw === undefined) return undefined;
    return (Array.isArray(raw) ? raw : [raw]).map((value) => {
      const text = String(value);
      const why = text === '' ? 'needs a value' : problem(text);
      if (why) throw new UsageError(`--${flag} ${JSON.stringify(text)}: ${why}.`);
      return text;
    });
  };
  const one = (flag: string) => {
    const values = list(flag, () => undefined);
    if (values && values.length > 1) throw new UsageError(`--${flag} is given ${values.length} times; give it once.`);
    return values?.[0];
  };
  const integer = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const text = one(flag);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)}).`);
    return value;
  };
  const resume = one('resume');
  const from = integer('from', 1);
  const to = integer('to', 0);
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--from ${from} is above --to ${to}: no file is numbered from ${from} up to ${to}. Swap them.`);
  if (resume !== undefined && !UUID.test(resume)) throw new UsageError(`--resume needs a run id (a uuid, as the summary prints it), not ${JSON.stringify(resume)}.`);
  return {
    tenants: list('tenant', (code) => (tenantCodeProblem(code) ? `is not a tenant code (it ${tenantCodeProblem(code)})` : undefined)),
    plugins: list('plugin', (id) => (pluginIdProblem(id) ? `is not a plugin id (it ${pluginIdProblem(id)})` : undefined)),
    from,
    to,
    concurrency: integer('concurrency', 1, 64),
    batch: integer('batch', 1),
    batchPauseMs: integer('pause', 0, 3_600_000),
    maxAttempts: integer('max-attempts', 1, 100),
    lockTimeoutMs: integer('lock-timeout', 1, 3_600_000),
    resume,
    dryRun: args['dry-run'] === true,
    retryQuarantined: args['retry-quarantined'] === true,
    json: args.json === true,
    databaseUrl: one('database-url'),
    sandboxDir: one('sandbox-dir'),
  };
}
