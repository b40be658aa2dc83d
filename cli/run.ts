/**
 * What every entry of the `foundation-module` program shares: pick the command named by the first
 * argument, hand it the rest, and end the process with the exit code its result or error carries
 * (errors.ts). index.ts lists the commands.
 */
import { exitFor, UsageError } from './errors.ts';

/** A command gets its own arguments (it parses its own flags) and returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;

export interface Program {
  commands: Record<string, Command>;
  help: string;
}

export async function runProgram({ commands, help }: Program, argv: string[]): Promise<never> {
  try {
    process.exit(await dispatch({ commands, help }, argv));
  } catch (error) {
    const { exitCode, message, expected } = exitFor(error);
    console.error(expected ? `foundation-module: ${message}` : message);
    process.exit(exitCode);
  }
}

async function dispatch({ commands, help }: Program, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(help);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command) return command(rest);
  throw new UsageError(`Unknown command "${name}". Run \`foundation-module --help\` for the list.`);
}
