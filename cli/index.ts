/**
 * `foundation-module <command>`: parses argv once, then hands over to the command's file.
 * Errors a user can fix print as one message (no stack) with exit code 1; usage errors exit 2.
 */
import mri from 'mri';
import { SandboxStartError } from '../sandbox/errors.ts';
import { runDev } from './dev.ts';
import { UsageError } from './usage-error.ts';

const HELP = `foundation-module <command> [options]

Commands:
  dev [module dirs…]   Run the sandbox API and the Vite shell together, on the embedded
                       PostgreSQL (or DATABASE_URL). Default module: the current directory;
                       in the kit's own repository, every module under examples/.
    --port <n>         Shell port (default 5173, or a free one if taken)
    --api-port <n>     API port (default 3000, or a free one if taken)
    --sandbox-dir <d>  Where the embedded database keeps its data (default ./.sandbox)

Options:
  -h, --help           Show this help
`;

async function main(argv: string[]): Promise<number> {
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
    default:
      throw new UsageError(`Unknown command "${command}". Run \`foundation-module --help\` for the list.`);
  }
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
    if (error instanceof UsageError) {
      console.error(`foundation-module: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof SandboxStartError) {
      console.error(`foundation-module: ${error.message}`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  },
);
