/**
 * `npm run dev` as a user runs it: a child process in its own process group, stopped the way a
 * terminal's Ctrl-C stops it (SIGINT to the whole group). Also the API process alone
 * (sandbox/server.ts), and what the tests look at: output, answers, PostgreSQL processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './examples.ts';

export interface DevRun {
  child: ChildProcess;
  output: () => string;
  /** The exit code, or the signal that ended it. */
  exited: Promise<number | string | null>;
}

/** `npm run dev -- …args` in `cwd`, in its own process group, output collected. */
export function startDev(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): DevRun {
  return startInGroup('npm', ['run', 'dev', '--', ...args], env, cwd);
}

/** The API process on its own, as `node --import tsx sandbox/server.ts` with the given settings. */
export function startServer(env: NodeJS.ProcessEnv): DevRun {
  return startInGroup(process.execPath, ['--import', 'tsx', 'sandbox/server.ts'], env, REPO_ROOT);
}

function startInGroup(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): DevRun {
  let output = '';
  const child = spawn(command, args, {
    cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: '', FORCE_COLOR: '0', ...env },
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, output: () => output, exited };
}

export async function waitFor(url: string, run: DevRun, timeoutMs = 90_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`dev exited early (${run.child.exitCode}):\n${run.output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return res;
      last = `${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} never answered 200 (last: ${last}). Output:\n${run.output()}`);
}

/**
 * Ctrl-C: SIGINT to the process group. Resolves with how it ended: our command exits 0, and npm
 * then re-raises the SIGINT it received (as shells expect of an interrupted program).
 */
export async function interrupt(run: DevRun): Promise<number | string | null> {
  process.kill(-run.child.pid!, 'SIGINT');
  const timeout = setTimeout(() => process.kill(-run.child.pid!, 'SIGKILL'), 30_000);
  const code = await run.exited;
  clearTimeout(timeout);
  return code;
}

/** Waits until the output after `from` (a length of `run.output()`) contains `text`; returns that output. */
export async function waitForOutput(run: DevRun, text: string | RegExp, from = 0, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const since = run.output().slice(from);
    if (typeof text === 'string' ? since.includes(text) : text.test(since)) return since;
    if (run.child.exitCode !== null || run.child.signalCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`The output never showed ${text}. Output:\n${run.output()}`);
}

/**
 * Waits (at most `timeoutMs`) until dev's stdout and stderr have closed: its exit can come before
 * the last of its output has been read, so a line printed just before it may not be in `output()` yet.
 */
export async function outputClosed(run: DevRun, timeoutMs = 10_000): Promise<void> {
  const closed = (stream: NodeJS.ReadableStream & { closed?: boolean }) =>
    stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([closed(run.child.stdout!), closed(run.child.stderr!)]),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
}

/** The exit code or signal, or 'still running' after `ms`. */
export async function exitWithin(run: DevRun, ms: number): Promise<number | string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  const how = await Promise.race([run.exited, timeout]);
  clearTimeout(timer);
  return how;
}

/** Clean-up after a test, pass or fail: SIGKILL to the whole group (the PostgreSQL it started included). */
export async function killGroup(run: DevRun): Promise<void> {
  try {
    process.kill(-run.child.pid!, 'SIGKILL');
  } catch {
    return; // the group is gone already
  }
  await run.exited;
}

/**
 * The pid of the dev command itself (`node bin/foundation-module.js dev`) in `run`'s process
 * group. A SIGTERM for dev goes there: npm, killed, does not pass it on.
 */
export function devCommandPid(run: DevRun): number {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (pgid === run.child.pid && cmd.some((arg) => arg.endsWith('foundation-module.js')) && cmd.includes('dev')) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`No dev command process in process group ${run.child.pid}`);
}

/** The pid of the PostgreSQL server running in `<sandboxDir>/postgres`, if any. */
export function postmasterPid(sandboxDir: string): number | undefined {
  const file = path.join(fs.realpathSync(path.join(sandboxDir, 'postgres')), 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

export function postgresProcessesUsing(dir: string): string[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return cmd.includes('postgres') && cmd.includes(dir) ? [`${pid}: ${cmd}`] : [];
    } catch {
      return [];
    }
  });
}

