/**
 * `foundation-module generate <entity|migration|permission|page> <name>` inside a module
 * (`npm run generate -- entity supplier`). Every kind takes `--dry-run`, which lists
 * CREATE/UPDATE/SKIP with a diff for each update and writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import mri from 'mri';
import { readStaticMeta } from '../sandbox/plugins/static-meta.ts';
import { formatChanges, generate, type FileChange } from './changes.ts';
import { entityNames, migrationStem, moduleNames, NameError, pageNames, permissionName } from './names.ts';
import { templateData } from './template-names.ts';

export const GENERATE_HELP = `Usage: foundation-module generate <kind> <name> [--dry-run]

Kinds:
  entity <name>        A table (next tenant migration + down), Drizzle schema, CRUD routes with
                       validation, permissions <id>.<plural>.read|create|update|delete, a page
                       with its menu entry, and API + page tests. e.g. entity purchase-order
  migration <name>     The next numbered migration and its down file, e.g. migration add-sku;
                       without --sql both hold only a comment, for you to write the SQL
    --sql <sql>        the SQL to run, e.g. --sql "ALTER TABLE … ADD COLUMN …;" (- reads stdin)
    --down-sql <sql>   the SQL that undoes it, for the .down.sql file (- reads stdin)
    --public           in migrations/public (once per database) instead of migrations/tenant
  permission <name>    A permission <id>.<name>, e.g. permission reports.export
  page <name>          A page with a route, a menu entry and a render test, e.g. page overview
    --permission <p>   show the menu entry only to holders of <id>.<p>

Options:
  --dry-run            List what would change (with diffs); write nothing
  --cwd <dir>          The module folder (default: the current folder)

Running the same command twice changes nothing the second time; your files are never overwritten.
`;

/** What each flag that takes a value expects, for the refusal of a flag given without one. */
const VALUE_FLAGS = {
  cwd: 'the module folder, e.g. --cwd ../stock-ledger',
  permission: 'a permission <resource>.<action>, e.g. --permission reports.export',
  sql: 'the SQL statements, or - to read them from stdin, e.g. --sql "ALTER TABLE … ADD COLUMN …;"',
  'down-sql': 'the SQL that undoes the migration, or - to read it from stdin',
};
const SWITCHES = ['dry-run', 'public', 'help'];
/** Flags of one kind only. */
const KIND_FLAGS: Record<string, string[]> = { migration: ['public', 'sql', 'down-sql'], page: ['permission'] };

/** `-` as the value of --sql or --down-sql: mri would read it as a flag, so it is swapped for this. */
const STDIN = '\0stdin';

export class GenerateUsageError extends Error {
  override readonly name = 'GenerateUsageError';
}

export interface GenerateIo {
  cwd: string;
  log: (text: string) => void;
  /** All of stdin, for `--sql -` and `--down-sql -`. @default reads process.stdin (refused on a terminal) */
  readStdin?: () => Promise<string>;
}

export async function runGenerate(argv: string[], io: GenerateIo): Promise<number> {
  const marked = argv.map((arg, i) => (arg === '-' && /^--(down-)?sql$/.test(argv[i - 1] ?? '') ? STDIN : arg));
  // Fresh arrays: mri adds the aliases to the ones it is given.
  const args = mri(marked, { boolean: [...SWITCHES], string: Object.keys(VALUE_FLAGS), alias: { h: 'help' } });
  const [kind, name, ...extra] = args._.map(String);
  if (args.help || !kind) {
    io.log(GENERATE_HELP);
    return args.help ? 0 : 2;
  }
  const flags = checkFlags(args, kind);
  if (!name) throw new GenerateUsageError(`Missing the name: foundation-module generate ${kind} <name>. Run foundation-module generate --help for examples.`);
  if (extra.length > 0) throw new GenerateUsageError(`One name at a time (got ${[name, ...extra].join(', ')}).`);

  const moduleDir = path.resolve(io.cwd, flags.cwd ?? '.');
  const module = moduleNames(readModuleId(moduleDir));
  const answers = await answersFor(kind, name, module.id, flags, io.readStdin ?? readStdin);
  const dryRun = Boolean(args['dry-run']);
  const changes = await generate({ generator: kind, answers: templateData(module, answers), moduleDir, dryRun });

  io.log(dryRun ? `Dry run: nothing written.\n${formatChanges(changes, { diffs: true })}` : formatChanges(changes));
  const next = dryRun ? undefined : nextStep(kind, changes);
  if (next) io.log(`\n${next}`);
  return 0;
}

type Flags = Partial<Record<keyof typeof VALUE_FLAGS, string>> & { public: boolean };

/** The flags, each given once and with a value; unknown flags and flags of another kind are refused. */
function checkFlags(args: Record<string, unknown>, kind: string): Flags {
  const known = new Set(['_', 'h', ...SWITCHES, ...Object.keys(VALUE_FLAGS)]);
  const unknown = Object.keys(args).find((key) => !known.has(key));
  if (unknown) throw new GenerateUsageError(`Unknown option ${unknown.length === 1 ? '-' : '--'}${unknown}. Run foundation-module generate --help for the options.`);
  for (const [owner, owned] of Object.entries(KIND_FLAGS)) {
    const misplaced = owned.find((flag) => args[flag] !== undefined && args[flag] !== false && kind !== owner);
    if (misplaced) throw new GenerateUsageError(`--${misplaced} is an option of \`generate ${owner}\` only.`);
  }
  const flags: Flags = { public: Boolean(args.public) };
  for (const [flag, rule] of Object.entries(VALUE_FLAGS) as [keyof typeof VALUE_FLAGS, string][]) {
    const value = args[flag];
    if (value === undefined) continue;
    if (Array.isArray(value)) throw new GenerateUsageError(`--${flag} is given ${value.length} times; give it once: ${rule}.`);
    if (typeof value !== 'string' || value === '') throw new GenerateUsageError(`--${flag} needs a value: ${rule}.`);
    flags[flag] = value;
  }
  if (flags.cwd !== undefined && /[\x00-\x1f\x7f]/.test(flags.cwd)) throw new GenerateUsageError(`--cwd must be a folder path without control characters: ${VALUE_FLAGS.cwd}.`);
  if (flags.sql === STDIN && flags['down-sql'] === STDIN) {
    throw new GenerateUsageError('Only one of --sql and --down-sql can read stdin (-); give the other one as text.');
  }
  return flags;
}

async function answersFor(kind: string, name: string, moduleId: string, flags: Flags, stdin: () => Promise<string>): Promise<Record<string, unknown>> {
  switch (kind) {
    case 'entity':
      return { entity: entityNames(moduleId, name) };
    case 'migration': {
      const stem = migrationStem(name);
      return { scope: flags.public ? 'public' : 'tenant', stem, sql: await sqlFlag(flags, 'sql', stdin), downSql: await sqlFlag(flags, 'down-sql', stdin) };
    }
    case 'permission':
      return { permission: permissionName(moduleId, name) };
    case 'page':
      return { page: pageNames(name), permission: flags.permission === undefined ? undefined : permissionName(moduleId, flags.permission) };
    default:
      throw new GenerateUsageError(`Unknown kind "${kind}": use entity, migration, permission or page.`);
  }
}

/** The SQL of --sql or --down-sql (from stdin for `-`), ending in one newline; '' when not given. */
async function sqlFlag(flags: Flags, flag: 'sql' | 'down-sql', stdin: () => Promise<string>): Promise<string> {
  const given = flags[flag];
  if (given === undefined) return '';
  const sql = given === STDIN ? await stdin() : given;
  if (sql.trim() === '') {
    const what = flag === 'sql' ? 'the SQL statements' : 'the SQL that undoes the migration';
    throw new GenerateUsageError(`--${flag}${given === STDIN ? ' - read nothing from stdin' : ' is empty'}: give ${what}, or leave --${flag} out for a file holding only a comment.`);
  }
  const control = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(sql);
  if (control) throw new GenerateUsageError(`--${flag} must be SQL text: it holds the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}.`);
  return `${sql.trim()}\n`;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new GenerateUsageError('`-` reads the SQL from stdin, which is a terminal here: pipe it in, e.g. `… --sql - < add_sku.sql`.');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** What the author does next, after a run that wrote something. */
function nextStep(kind: string, changes: FileChange[]): string | undefined {
  if (!changes.some((c) => c.kind !== 'SKIP')) return undefined;
  const runs = 'runs as soon as it holds a statement: a running `npm run dev` applies it when you save the file (else the next `npm run dev` or `npm test` does)';
  if (kind === 'entity') return `The migration ${runs}; \`npm test\` covers the new routes and page.`;
  if (kind !== 'migration') return undefined;
  const up = changes.find((c) => /^migrations\/(tenant|public)\/[^/]+(?<!\.down)\.sql$/.test(c.path));
  if (!up) return undefined;
  const where = up.path.startsWith('migrations/public/') ? 'once per database, in the public schema' : 'once in every tenant schema';
  const empty = up.after !== undefined && up.after.split('\n').every((line) => line.trim() === '' || line.startsWith('--'));
  return `${empty ? `Write its SQL in ${up.path} and the undo in ${up.path.replace(/\.sql$/, '.down.sql')}. ` : ''}It ${runs}, ${where}.`;
}

/** The plugin id, read from plugin/index.ts without running the module's code. */
export function readModuleId(moduleDir: string): string {
  if (!fs.existsSync(path.join(moduleDir, 'plugin', 'index.ts'))) {
    throw new GenerateUsageError(`${moduleDir} is not a module (no plugin/index.ts). Run this inside a module made by create-foundation-module, or pass --cwd <module dir>.`);
  }
  try {
    return readStaticMeta(moduleDir).id;
  } catch (error) {
    throw new NameError(`${(error as Error).message} The generator reads it to name what it writes; restore it.`);
  }
}
