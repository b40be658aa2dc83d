/**
 * `npm run dev` as a user runs it: a child process in its own process group, stopped the way a
 * terminal's Ctrl-C stops it (SIGINT to the whole group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { REPO_ROOT } from './examples.ts';

export interface DevRun {
  child: ChildProcess;
  output: () => string;
  /** The exit code, or the signal that ended it. */
  exited: Promise<number | string | null>;
}

/** `npm run dev -- …args` in `cwd`, in its own process group, output collected. */
export function startDev(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): DevRun {
  let output = '';
  const child = spawn('npm', ['run', 'dev', '--', ...args], {
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

