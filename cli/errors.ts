/**
 * The one error type of the command line: it carries the exit code, so every command reports the
 * same way (a one-line message, no stack) and `index.ts` needs no list of error classes.
 *
 *   0  success
 *   1  a failure the command reports (bad input data, a failed tenant, a start that can't happen)
 *   2  a usage error: the command line itself is wrong
 *   3  lock contention or a quarantined tenant (the migration runner)
 */
import { SandboxStartError } from '../sandbox/errors.ts';

export type ExitCode = 0 | 1 | 2 | 3;

export class CliError extends Error {
  override name = 'CliError';

  constructor(message: string, readonly exitCode: ExitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A mistake in how a command was called: exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';

  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * How a command's error ends the process: its message and exit code when it is one the user can
 * act on (ours, the sandbox's start failures, the generators' refusals), else the stack and 1.
 */
export function exitFor(error: unknown): { exitCode: ExitCode; message: string; expected: boolean } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message, expected: true };
  if (error instanceof SandboxStartError) return { exitCode: 1, message: error.message, expected: true };
  // The generators are bundled apart (dist/) from this code: their errors are told by name.
  const name = error instanceof Error ? error.name : '';
  if (name === 'GenerateUsageError') return { exitCode: 2, message: (error as Error).message, expected: true };
  if (['GenerateError', 'NameError', 'EditError', 'CreateError'].includes(name)) return { exitCode: 1, message: (error as Error).message, expected: true };
  return { exitCode: 1, message: error instanceof Error ? (error.stack ?? error.message) : String(error), expected: false };
}
