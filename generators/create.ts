/**
 * `create-foundation-module <id>` (what `npm create foundation-module` runs), read top to bottom:
 *   1. parse flags;  2. ask for what is missing, on a terminal only;  3. check every name;
 *   4. check the target folder;  5. generate (or list, with --dry-run);  6. say what to run next.
 */
import fs from 'node:fs';
import path from 'node:path';
import mri from 'mri';
import { formatChanges, generate } from './changes.ts';
import { KIT_NAME, KIT_VERSION } from './kit.ts';
import { kitSpec, KIT_SPEC_RULE } from './kit-spec.ts';
import { entityNames, moduleNames, NameError, spell } from './names.ts';
import type { ModuleAnswers } from './plop.ts';
import { templateData } from './template-names.ts';

const HELP = `Usage: create-foundation-module <id> [options]
       npm create foundation-module@latest <id> -- [options]

Makes a new module for the foundation in ./<id>: plugin, migration, client page, tests.

Options (each one answers a prompt; without a terminal nothing is asked):
  --name <text>          Display name              (default: from the id, "stock-ledger" → "Stock ledger")
  --entity <name>        First entity, kebab-case  (default: item)
  --description <text>   One line for package.json and README
  -y, --yes              Take the defaults for everything not given
  --dry-run              List the files it would write; write nothing
  --force                Write into a non-empty folder; existing files are kept, never deleted
  --kit <spec>           The kit the module installs (default: ^ this kit's version): a range, a
                         dist-tag, or the path of a kit tarball (npm pack) to try an unpublished kit
  -h, --help             Show this help

The id: lowercase kebab-case, 2-40 characters, starting with a letter, e.g. stock-ledger.
`;

export interface CreateFlags {
  /** Module id, the first argument. */
  id?: string;
  /** Display name. @default the id in words, first letter capital */
  name?: string;
  /** First entity. @default 'item' */
  entity?: string;
  /** @default 'The <name> module.' */
  description?: string;
  /** The kit the module installs, as given (generators/kit-spec.ts). @default `^<this kit's version>` */
  kit?: string;
  /** Take defaults instead of asking. @default false */
  yes: boolean;
  /** List, write nothing. @default false */
  dryRun: boolean;
  /** Allow a non-empty target folder (never deletes). @default false */
  force: boolean;
  help: boolean;
}

export class CreateError extends Error {
  override readonly name = 'CreateError';
}

/** What each text flag takes, for the refusal of a flag given without a value. */
const TEXT_FLAGS = {
  name: 'a display name of 1-80 characters, e.g. --name "Stock ledger"',
  entity: 'an entity name in kebab-case, e.g. --entity purchase-order',
  description: 'one line of 1-200 characters, e.g. --description "Tracks stock per tenant."',
  kit: KIT_SPEC_RULE,
};

export function parseCreateArgs(argv: string[]): CreateFlags {
  const args = mri(argv, {
    boolean: ['yes', 'dry-run', 'force', 'help'],
    string: Object.keys(TEXT_FLAGS),
    alias: { y: 'yes', h: 'help' },
  });
  const known = new Set(['_', 'yes', 'y', 'dry-run', 'force', 'help', 'h', ...Object.keys(TEXT_FLAGS)]);
  const unknown = Object.keys(args).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new CreateError(`Unknown option --${unknown[0]}. Run create-foundation-module --help for the options.`);
  if (args._.length > 1) throw new CreateError(`One module id at a time (got ${args._.join(', ')}).`);
  // A flag given with no value, or twice, is a mistake in the command: never fall back to a default.
  const text = (flag: keyof typeof TEXT_FLAGS): string | undefined => {
    const value: unknown = args[flag];
    if (value === undefined) return undefined;
    if (Array.isArray(value)) throw new CreateError(`--${flag} is given ${value.length} times; give it once: ${TEXT_FLAGS[flag]}.`);
    if (typeof value !== 'string' || value === '') throw new CreateError(`--${flag} needs a value: ${TEXT_FLAGS[flag]}.`);
    return value;
  };
  return {
    id: args._[0] === undefined ? undefined : String(args._[0]),
    name: text('name'),
    entity: text('entity'),
    description: text('description'),
    kit: text('kit'),
    yes: Boolean(args.yes),
    dryRun: Boolean(args['dry-run']),
    force: Boolean(args.force),
    help: Boolean(args.help),
  };
}

export interface CreateIo {
  cwd: string;
  /** Whether prompts may be shown. @default stdin is a terminal */
  interactive: boolean;
  log: (text: string) => void;
}

/** Runs the whole flow; returns the exit code. Problems the author can fix throw CreateError or NameError. */
export async function runCreate(argv: string[], io: CreateIo): Promise<number> {
  // 1. Flags.
  const flags = parseCreateArgs(argv);
  if (flags.help) {
    io.log(HELP);
    return 0;
  }

  // 2. Prompts, only on a terminal and without --yes.
  const given = io.interactive && !flags.yes ? await askForMissing(flags) : flags;
  if (given.id === undefined) {
    throw new CreateError('Missing the module id. Without a terminal nothing is asked; pass the values as arguments:\n' +
      '  create-foundation-module <id> [--name <text>] [--entity <name>] [--description <text>] [--yes] [--dry-run] [--force]');
  }

  // 3. Names: everything derived is checked before anything is written.
  const module = moduleNames(given.id);
  const name = checkText(given.name ?? module.title, '--name', 80);
  const answers: ModuleAnswers = {
    module,
    name,
    description: checkText(given.description ?? `The ${name} module.`, '--description', 200),
    kitVersion: KIT_VERSION,
    ...(given.kit === undefined ? {} : { kitSpec: checkKitSpec(given.kit, io.cwd) }),
    entity: entityNames(module.id, given.entity ?? 'item'),
  };

  // 4. Target folder: ./<id>, new or empty unless --force.
  const target = path.join(io.cwd, module.id);
  if (!isEmptyDir(target) && !flags.force) {
    throw new CreateError(`${target} exists and is not empty. Pick another id, empty the folder, or pass --force to add the module's files beside what is there (existing files are kept).`);
  }

  // 5. Generate, or list what would be generated.
  const changes = await generate({ generator: 'module', answers: templateData(module, answers), moduleDir: target, dryRun: flags.dryRun });
  if (flags.dryRun) {
    io.log(`Dry run: nothing written. create-foundation-module ${KIT_VERSION} would write ${path.relative(io.cwd, target)}/:\n${formatChanges(changes)}`);
    return 0;
  }
  io.log(formatChanges(changes));

  // 6. Next steps, in the package manager the author used.
  const pm = packageManager();
  io.log(`\nModule "${name}" (${module.id}) is ready. Next:\n  cd ${module.id}\n  ${pm} install\n  ${pm === 'npm' ? 'npm run' : pm} dev\n`);
  return 0;
}

async function askForMissing(flags: CreateFlags): Promise<CreateFlags> {
  const { default: inquirer } = await import('inquirer');
  const check = (fn: () => unknown) => {
    try {
      fn();
      return true;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const answers = await inquirer.prompt<Record<string, string>>([
    { type: 'input', name: 'id', message: 'Module id (kebab-case):', when: flags.id === undefined, validate: (v: string) => check(() => moduleNames(v)) },
    { type: 'input', name: 'name', message: 'Display name:', when: flags.name === undefined, default: (a: Record<string, string>) => spell(flags.id ?? a.id!).title },
    { type: 'input', name: 'entity', message: 'First entity:', when: flags.entity === undefined, default: 'item', validate: (v: string, a?: Record<string, string>) => check(() => entityNames(flags.id ?? a!.id!, v)) },
    { type: 'input', name: 'description', message: 'Description:', when: flags.description === undefined, default: (a: Record<string, string>) => `The ${flags.name ?? a.name} module.` },
  ]);
  return { ...flags, ...answers };
}

function checkText(value: string, flag: string, max: number): string {
  const text = value.trim();
  if (text.length === 0 || text.length > max) throw new NameError(`${flag} must be 1-${max} characters (got ${text.length}).`);
  if (/[\x00-\x1f\x7f]/.test(text)) throw new NameError(`${flag} must be one line of text without control characters.`);
  return text;
}

/** Missing, or holding nothing but `.git`. */
function isEmptyDir(dir: string): boolean {
  if (!fs.existsSync(dir)) return true;
  if (!fs.statSync(dir).isDirectory()) return false;
  return fs.readdirSync(dir).every((name) => name === '.git');
}

function packageManager(): string {
  const agent = process.env.npm_config_user_agent ?? '';
  return ['pnpm', 'yarn', 'bun'].find((pm) => agent.startsWith(pm)) ?? 'npm';
}

function checkKitSpec(given: string, cwd: string): string {
  try {
    return kitSpec(given, cwd, KIT_NAME);
  } catch (error) {
    throw new CreateError((error as Error).message);
  }
}
