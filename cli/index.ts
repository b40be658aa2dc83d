/**
 * `foundation-module <command>`: parses argv once, then hands over to the command's file in
 * commands/. Every error a user can act on prints as one message (no stack) with the exit code it
 * carries (errors.ts: 1 a reported failure, 2 usage, 3 lock contention or quarantine).
 */
import { createRequire } from 'node:module';
import mri from 'mri';
import { devCommand } from './commands/dev.ts';
import { generateCommand } from './commands/generate.ts';
import { migrateCommand } from './commands/migrate.ts';
import { NOT_YET_COMMANDS, notYet } from './commands/not-yet.ts';
import { pluginsCommand } from './commands/plugins.ts';
import { tenantsCommand } from './commands/tenants.ts';
import { exitFor, UsageError } from './errors.ts';

const KIT_VERSION: string = createRequire(import.meta.url)('../package.json').version;

const HELP = `foundation-module <command> [options]

Commands:
  dev [module dirs…]   Run the sandbox API and the Vite shell together, on the embedded
                       PostgreSQL (or DATABASE_URL). Default module: the current directory;
                       in the kit's own repository, every module under examples/.
    --port <n>         Shell port (default 5173, or a free one if taken)
    --api-port <n>     API port (default 3000, or a free one if taken)
    --sandbox-dir <d>  Where the embedded database keeps its data (default ./.sandbox)
  generate <kind> <name>
                       Add an entity, migration, permission or page to the module in the
                       current folder (foundation-module generate --help for the kinds)
  migrate <status|validate|up|down> [module dirs…]
                       Apply the modules' migrations to public and every tenant schema, in
                       parallel, resumable (foundation-module migrate --help for the options)

Options:
  -h, --help           Show this help
`;

async function main(argv: string[]): Promise<number> {
  // generate and migrate have flags of their own: hand them the raw arguments.
  if (argv[0] === 'generate') return generateCommand(argv.slice(1));
  if (argv[0] === 'migrate') return migrateCommand(argv.slice(1));
  if (argv[0] === 'tenants') return tenantsCommand(argv.slice(1), KIT_VERSION);
  if (argv[0] === 'plugins') return pluginsCommand(argv.slice(1), KIT_VERSION);
  const args = mri(argv, {
    boolean: ['help'],
    string: ['port', 'api-port', 'sandbox-dir'],
    alias: { h: 'help' },
  });
  const [command, ...rest] = args._;
  if (args.help || !command) {
    process.stdout.write(HELP);
    return command || args.help ? 0 : 2;
  }
  if (command === 'dev') return devCommand({ ...args, _: rest });
  if (NOT_YET_COMMANDS.includes(command)) notYet(command, KIT_VERSION);
  throw new UsageError(`Unknown command "${command}". Run \`foundation-module --help\` for the list.`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const { exitCode, message, expected } = exitFor(error);
    console.error(expected ? `foundation-module: ${message}` : message);
    process.exit(exitCode);
  },
);
