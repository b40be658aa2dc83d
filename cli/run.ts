/**
 * What every entry of the `foundation-module` program shares: pick the command named by the first
 * argument, hand it the rest, and end the process with the exit code its result or error carries
 * (errors.ts). index.ts lists the commands.
 */
import os from 'node:os';
import { actAs, actorTextProblem } from '../sandbox/data/transaction-actor.ts';
import { exitFor, UsageError } from './errors.ts';

/** A command gets its own arguments (it parses its own flags) and returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;

export interface Program {
  commands: Record<string, Command>;
  help: string;
}

export async function runProgram({ commands, help }: Program, argv: string[]): Promise<never> {
  try {
    const { actor, rest } = readActor(argv, process.env);
    // Every change a command makes is logged under its operator (operations/audit).
    process.exit(await actAs({ actor, source: 'cli' }, () => dispatch({ commands, help }, rest)));
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

/**
 * Who runs the command, for the audit log: `--actor <name>` before the command name, else
 * FOUNDATION_ACTOR, else the operating system's user.
 */
export function readActor(argv: string[], env: NodeJS.ProcessEnv): { actor: string; rest: string[] } {
  let actor: string | undefined;
  let rest = argv;
  const [first, second] = argv;
  if (first === '--actor') {
    if (second === undefined) throw new UsageError('--actor needs a name: foundation-module --actor <name> <command> …');
    [actor, rest] = [second, argv.slice(2)];
  } else if (first?.startsWith('--actor=')) {
    [actor, rest] = [first.slice('--actor='.length), argv.slice(1)];
  }
  const source = actor !== undefined ? '--actor' : env.FOUNDATION_ACTOR ? 'FOUNDATION_ACTOR' : undefined;
  actor ??= env.FOUNDATION_ACTOR || osUser();
  const problem = actorTextProblem(actor);
  if (problem) throw new UsageError(`${source ?? 'The operating system user'} ${JSON.stringify(actor.slice(0, 80))} can't name who acts: it ${problem}.`);
  return { actor, rest };
}

function osUser(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
