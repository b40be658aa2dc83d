/**
 * Two Node processes run as one command, each line of their output prefixed with its name
 * (`[api] …`, `[shell] …`). When one ends, the others are stopped; a SIGINT or SIGTERM to dev is
 * passed on to each. All `foundation-module dev` needs of a process manager, without one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';

export interface NamedProcess {
  /** Printed in brackets before each line. */
  name: string;
  /** Arguments of `node`. */
  args: string[];
  /** ANSI colour code of the prefix (36 cyan, 35 magenta…). */
  color: number;
}

export interface RunTogetherOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout?: Writable;
  stderr?: Writable;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs the processes until all have ended. Resolves 0 when dev was asked to stop (a signal) or
 * every process ended with 0, else 1 (one died, and the others were stopped with it).
 */
export function runTogether(processes: NamedProcess[], { cwd, env, stdout = process.stdout, stderr = process.stderr }: RunTogetherOptions): Promise<number> {
  const colored = (process.stdout.isTTY ?? false) && !env.NO_COLOR && env.FORCE_COLOR !== '0';
  let interrupted = false;
  let stopping = false;
  const children: ChildProcess[] = [];
  const stopAll = (signal: NodeJS.Signals) => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    stopping = true;
    stopAll(signal);
  };
  for (const signal of FORWARDED) process.on(signal, onSignal);

  const endings = processes.map(({ name, args, color }) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const prefix = colored ? `\x1b[${color}m[${name}]\x1b[0m ` : `[${name}] `;
    const out = prefixLines(prefix, stdout);
    const err = prefixLines(prefix, stderr);
    child.stdout!.on('data', out.write);
    child.stderr!.on('data', err.write);
    return new Promise<number | string>((resolve) => {
      child.once('error', (error) => {
        err.write(`${error.message}\n`);
        resolve(1);
      });
      child.once('close', (code, signal) => {
        out.end();
        err.end();
        if (!stopping) {
          stopping = true;
          stopAll('SIGTERM');
        }
        resolve(code ?? signal ?? 1);
      });
    });
  });

  return Promise.all(endings).then((outcomes) => {
    for (const signal of FORWARDED) process.off(signal, onSignal);
    return interrupted || outcomes.every((outcome) => outcome === 0) ? 0 : 1;
  });
}

/** A writer that puts `prefix` before every line it passes on; `end` flushes a last unfinished line. */
function prefixLines(prefix: string, to: Writable): { write: (chunk: Buffer | string) => void; end: () => void } {
  let pending = '';
  return {
    write: (chunk) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      if (lines.length > 0) to.write(lines.map((line) => `${prefix}${line}\n`).join(''));
    },
    end: () => {
      if (pending) to.write(`${prefix}${pending}\n`);
      pending = '';
    },
  };
}
