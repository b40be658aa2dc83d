/**
 * One run of the API (sandbox/server.ts) as a child of the supervisor, driven over IPC (the
 * messages are listed in server.ts). It starts in two steps: it loads the modules while the
 * previous API still serves, and opens the database and listens only on `go()`. The API ignores
 * signals under the supervisor, so each run stops exactly once, gracefully, on `stop()`, however
 * many times Ctrl-C reached it.
 */
import { fork } from 'node:child_process';
import { KIT_ROOT, kitEntry, typescriptLoaderArgs } from '../../sandbox/kit-files.ts';

export type Outcome = { ok: true } | { ok: false; message: string };

export interface ApiProcess {
  /** The modules loaded; or why not (the process then exits). */
  loaded: Promise<Outcome>;
  /** Open the database and listen: the port is free now. */
  go(): void;
  /** Serving; or why not (the process then exits). */
  ready: Promise<Outcome>;
  /** How it ended: an exit code, or the signal that killed it. */
  exited: Promise<number | string | null>;
  /** Whether `stop` or `kill` was called: an exit then is no crash. */
  readonly stopping: boolean;
  /** Asks the API to stop (its grace period for requests in flight applies); SIGKILL after `timeoutMs`. Idempotent. */
  stop(timeoutMs: number): Promise<void>;
  /** At once, nothing finished: for a second Ctrl-C. */
  kill(): void;
}

export function startApi({ env }: { env: NodeJS.ProcessEnv }): ApiProcess {
  const child = fork(kitEntry('sandbox/server'), [], {
    cwd: KIT_ROOT,
    env: { ...env, FOUNDATION_SUPERVISED: '1' },
    // It loads the modules' TypeScript; their stack traces point into their own files.
    execArgv: ['--enable-source-maps', ...typescriptLoaderArgs()],
    // Its lines go straight to dev's output, where dev prefixes them with [api].
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const gone = exited.then((how): Outcome => ({ ok: false, message: `The API process exited (${typeof how === 'number' ? `code ${how}` : how}).` }));
  const answer = (type: 'loaded' | 'ready') => Promise.race([
    new Promise<Outcome>((resolve) => child.on('message', (message: { type?: string; message?: string }) => {
      if (message?.type === type) resolve({ ok: true });
      if (message?.type === 'failed') resolve({ ok: false, message: message.message ?? 'unknown error' });
    })),
    gone,
  ]);
  const loaded = answer('loaded');
  const ready = answer('ready');
  let stopping: Promise<void> | undefined;
  const send = (message: { type: 'go' | 'stop' }) => child.connected && child.send(message, () => {});
  return {
    loaded,
    go: () => send({ type: 'go' }),
    ready,
    exited,
    get stopping() {
      return stopping !== undefined;
    },
    stop: (timeoutMs) => (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      send({ type: 'stop' });
      await exited;
      clearTimeout(timer);
    })()),
    kill: () => {
      stopping ??= exited.then(() => {});
      child.kill('SIGKILL');
    },
  };
}
