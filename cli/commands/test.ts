/**
 * `foundation-module test [vitest options…]`: a module's `npm test`. The type check (the module's
 * own `tsc --noEmit -p tsconfig.json`) and Vitest (`vitest run`) run side by side, since neither
 * needs the other's result and one waits on the disk and the database while the other computes:
 * on two cores that is about a quarter of `npm test` saved. Vitest's output is shown as it comes;
 * the type check's when it is done, after Vitest's. It passes when both pass.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CliError } from '../errors.ts';

export const TEST_HELP = `Usage: foundation-module test [vitest options…]

Runs the module's type check (tsc --noEmit -p tsconfig.json) and its tests (vitest run) side by
side, in the module's folder; passes when both pass. Options are Vitest's, for example a file
name filter or --reporter=verbose. To run one of them alone: npm run typecheck, npx vitest.
  --no-typecheck       Run the tests only

Exit codes: 0 both passed, 1 a type error or a failed test.
`;

interface Outcome {
  code: number;
  output: string;
}

export async function testCommand(argv: string[], cwd = process.cwd()): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(TEST_HELP);
    return 0;
  }
  const typecheck = !argv.includes('--no-typecheck');
  const vitestArgs = argv.filter((arg) => arg !== '--no-typecheck');
  if (!fs.existsSync(path.join(cwd, 'package.json'))) {
    throw new CliError(`${cwd} has no package.json: run foundation-module test in the module's folder (npm test does).`);
  }
  const fromModule = createRequire(path.join(cwd, 'package.json'));
  const vitest = binOf(fromModule, 'vitest', 'vitest.mjs');
  const tsc = typecheck ? binOf(fromModule, 'typescript', 'bin/tsc') : undefined;
  if (tsc && !fs.existsSync(path.join(cwd, 'tsconfig.json'))) {
    throw new CliError(`${cwd} has no tsconfig.json to type-check with: add the one npm create foundation-module writes, or pass --no-typecheck.`);
  }

  const started = performance.now();
  const checking = tsc ? runQuietly(tsc, ['--noEmit', '-p', 'tsconfig.json', ...(process.stdout.isTTY ? ['--pretty'] : [])], cwd) : undefined;
  const tests = await runShown(vitest, ['run', ...vitestArgs], cwd);
  if (!checking) return tests === 0 ? 0 : 1;
  const checked = await checking;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (checked.code === 0) {
    process.stdout.write(`\n Type check  passed (tsc --noEmit -p tsconfig.json, ${seconds} s with the tests)\n`);
  } else {
    process.stdout.write(`\n Type check  failed (tsc --noEmit -p tsconfig.json):\n\n${checked.output.trimEnd()}\n`);
  }
  return tests === 0 && checked.code === 0 ? 0 : 1;
}

/** The file of a package's program, resolved from the module as npm would run it. */
function binOf(fromModule: NodeRequire, pkg: string, file: string): string {
  try {
    return path.join(path.dirname(fromModule.resolve(`${pkg}/package.json`)), file);
  } catch {
    throw new CliError(`${pkg} is not installed in this module: it is one of the devDependencies npm create foundation-module writes. Run npm install (or npm install -D ${pkg}).`);
  }
}

/** Runs a Node program with its output kept for later. */
function runQuietly(program: string, args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [program, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', (error) => resolve({ code: 1, output: error.message }));
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Runs a Node program on this terminal; its exit code (1 when a signal ended it). */
function runShown(program: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [program, ...args], { cwd, stdio: 'inherit' });
    child.once('error', () => resolve(1));
    child.once('close', (code) => resolve(code ?? 1));
  });
}
