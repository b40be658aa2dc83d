/**
 * `foundation-module <command>`: parses argv once, then hands over to the command's file.
 * Errors a user can fix print as one message (no stack) with exit code 1; usage errors exit 2.
 */
import { createRequire } from 'node:module';
import mri from 'mri';
import { SandboxStartError } from '../sandbox/errors.ts';
import { runDev } from './dev/command.ts';
import { loadGenerators } from './generators.ts';
import { UsageError } from './usage-error.ts';

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

Options:
  -h, --help           Show this help
`;

async function main(argv: string[]): Promise<number> {
  // generate has flags of its own: hand it the raw arguments.
  if (argv[0] === 'generate') {
    const { runGenerate } = await loadGenerators();
    return runGenerate(argv.slice(1), { cwd: process.cwd(), log: (text) => console.log(text) });
  }
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
  switch (command) {
    case 'dev':
      return runDev({
        moduleDirs: rest,
        port: portFlag(args.port, '--port'),
        apiPort: portFlag(args['api-port'], '--api-port'),
        sandboxDir: args['sandbox-dir'],
      });
    case 'migrate':
    case 'vendor':
    case 'tenants':
    case 'plugins':
      console.error(`foundation-module: \`${command}\` is not in this kit version (${KIT_VERSION}) yet. ${NOT_YET[command]}`);
      return 1;
    default:
      throw new UsageError(`Unknown command "${command}". Run \`foundation-module --help\` for the list.`);
  }
}

const NOT_YET: Record<string, string> = {
  migrate: 'Until then, pending migrations run by themselves at every `npm run dev` and in every test run.',
  vendor: 'Until then, copy the module folder into the foundation and mount foundation/routes/index.ts.',
  tenants: 'Until then, the sandbox has the dev tenants dev and acme.',
  plugins: 'Until then, every module given to `dev` is enabled for every tenant.',
};

/** Errors of the generators that the author fixes by changing the command or the module. */
function isGeneratorError(error: unknown): error is Error {
  return error instanceof Error && ['GenerateError', 'NameError', 'EditError'].includes(error.name);
}

function portFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${flag} must be a port number from 1 to 65535 (got "${value}").`);
  return port;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof Error && error.name === 'GenerateUsageError')) {
      console.error(`foundation-module: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof SandboxStartError || isGeneratorError(error)) {
      console.error(`foundation-module: ${error.message}`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  },
);
