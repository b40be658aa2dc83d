/**
 * The sandbox API as a process. It runs on its own, and `foundation-module dev` runs it as the
 * child of its API supervisor (cli/dev/api-supervisor.ts), which restarts it when module code
 * changes. Settings come from the environment:
 *   FOUNDATION_MODULE_DIRS     JSON array of module directories
 *   FOUNDATION_API_PORT        port on 127.0.0.1 (default 3000)
 *   FOUNDATION_SANDBOX_DIR     where the embedded database lives (default ./.sandbox)
 *   DATABASE_URL               use this PostgreSQL instead of starting the embedded one
 *   SANDBOX_SHUTDOWN_GRACE_MS  how long requests in flight may finish at shutdown (default 3000)
 * Set by the supervisor only:
 *   FOUNDATION_SUPERVISED=1         talk to the supervisor over IPC (see below), ignore signals
 *   FOUNDATION_DATABASE_EMBEDDED=1  DATABASE_URL is the supervisor's embedded server (for the ready lines)
 *
 * Stopping: stop accepting, close idle keep-alive connections at once, let requests in flight
 * finish for the grace period, close what is left, then the pool and the embedded PostgreSQL.
 * A second signal skips the waiting: the embedded server is stopped and the process exits.
 *
 * Under the supervisor, messages replace signals and the start has two steps, so that the
 * previous API serves while this one loads the changed code:
 *   → { type: 'loaded' }   the modules load (or { type: 'failed', message }, then exit 1)
 *   ← { type: 'go' }       the previous API has stopped: open the database and listen
 *   → { type: 'ready' }    serving (or { type: 'failed', message }, then exit 1)
 *   ← { type: 'stop' }     stop as above
 */
import type { Server } from 'node:http';
import path from 'node:path';
import { inspect } from 'node:util';
import { redact } from './data/database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres/cluster.ts';
import { integerFromEnv } from './env-settings.ts';
import { SandboxStartError } from './errors.ts';
import { createSandbox, type Sandbox } from './index.ts';
import { loadPlugins } from './plugins/loader.ts';

const DEFAULT_GRACE_MS = 3_000;

type FromSupervisor = { type: 'go' } | { type: 'stop' };
type ToSupervisor = { type: 'loaded' } | { type: 'ready' } | { type: 'failed'; message: string };

const supervised = process.env.FOUNDATION_SUPERVISED === '1' && !!process.send;
const tell = (message: ToSupervisor) => supervised && process.send!(message);

function moduleDirsFromEnv(): string[] {
  const raw = process.env.FOUNDATION_MODULE_DIRS;
  if (!raw) throw new SandboxStartError('FOUNDATION_MODULE_DIRS is not set: start the sandbox with `foundation-module dev [module dirs…]`.');
  const dirs = JSON.parse(raw) as unknown;
  if (!Array.isArray(dirs) || !dirs.every((d) => typeof d === 'string')) throw new SandboxStartError('FOUNDATION_MODULE_DIRS must be a JSON array of directories.');
  return dirs;
}


async function main(): Promise<void> {
  const port = Number(process.env.FOUNDATION_API_PORT ?? 3000);
  const sandboxDir = path.resolve(process.env.FOUNDATION_SANDBOX_DIR ?? '.sandbox');
  // This process starts the embedded server itself (rather than leaving it to createSandbox) so
  // that a second signal can stop it at once, whatever the pool is still waiting for.
  let embeddedStarting: Promise<EmbeddedPostgres> | undefined;
  let sandboxStarting: Promise<Sandbox> | undefined;
  let server: Server | undefined;
  let inFlight = () => 0;
  let stopping = false;
  let forced = false;
  let graceMs = DEFAULT_GRACE_MS;

  const stop = async (reason: string) => {
    if (stopping) return stopNow(reason);
    stopping = true;
    // Under the supervisor, a stop is a restart or dev stopping: the supervisor says which.
    if (!supervised) console.log(`[sandbox] ${reason}: stopping…`);
    if (server) await closeHttpServer(server, graceMs, inFlight);
    // A stop during start-up waits for it, so what it started is closed too.
    await sandboxStarting?.then((sandbox) => sandbox.close(), () => {});
    await embeddedStarting?.then((embedded) => embedded.stop(), () => {});
    if (!supervised) console.log('[sandbox] stopped');
    process.exit(0);
  };
  const stopNow = async (reason: string) => {
    if (forced) return;
    forced = true;
    console.log(`[sandbox] ${reason} again: stopping now, without waiting for requests`);
    server?.closeAllConnections();
    await embeddedStarting?.then((embedded) => embedded.stop(), () => {});
    process.exit(1);
  };

  let go: Promise<void> | undefined;
  if (supervised) {
    // Ctrl-C reaches every process of the terminal's group, and dev passes it on to
    // the supervisor, which is the one that decides: this process stops only when told.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
    go = new Promise((resolve) => process.on('message', (message: FromSupervisor) => {
      if (message?.type === 'go') resolve();
      if (message?.type === 'stop') void stop('stop');
    }));
    // The supervisor is gone (killed): nobody would stop this process otherwise.
    process.on('disconnect', () => {
      if (!stopping) void stop('supervisor gone');
    });
  } else {
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  }

  try {
    graceMs = integerFromEnv('SANDBOX_SHUTDOWN_GRACE_MS', DEFAULT_GRACE_MS);
    const moduleDirs = moduleDirsFromEnv();
    // Modules first: a bad one is refused before any database starts. Loaded once, they are
    // cached: createSandbox below gets the same ones at no cost.
    await loadPlugins(moduleDirs);
    if (go) {
      tell({ type: 'loaded' });
      await go; // the previous API serves until then
    }
    if (stopping) return;
    const databaseUrl = process.env.DATABASE_URL || undefined;
    if (!databaseUrl) embeddedStarting = startEmbeddedPostgres({ dataDir: path.join(sandboxDir, 'postgres') });
    const url = databaseUrl ?? (await embeddedStarting!).url;
    if (stopping) return;
    sandboxStarting = createSandbox({ moduleDirs, databaseUrl: url, sandboxDir, runCron: true });
    const sandbox = await sandboxStarting;
    if (stopping) return;
    server = sandbox.app.listen(port, '127.0.0.1');
    inFlight = countRequests(server);
    await new Promise<void>((resolve, reject) => {
      server!.once('listening', resolve);
      server!.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE'
        ? new SandboxStartError(`Port ${port} is taken: stop what uses it or pass --api-port.`) : error));
    });
    if (stopping) return;
    const embedded = !databaseUrl || process.env.FOUNDATION_DATABASE_EMBEDDED === '1';
    const lines = [
      `API       http://127.0.0.1:${port}  (health: /health, plugins: ${sandbox.plugins.map((p) => `/api/plugins/${p.meta.id}`).join(', ') || 'none'})`,
      embedded
        ? `Database  embedded PostgreSQL, data in ${path.join(sandboxDir, 'postgres')}\n          psql "${url}"`
        : `Database  ${redact(url)}`,
      sandbox.devIdentity
        ? 'Identity  dev headers X-Tenant-Id: dev|acme, X-User-Id: admin@sandbox.dev|user@sandbox.dev'
        : 'Identity  bearer tokens only (dev identity off: no dev headers, no /api/sandbox routes)',
    ];
    console.log(`[sandbox] ready\n${lines.map((l) => `  ${l}`).join('\n')}`);
    tell({ type: 'ready' });
  } catch (error) {
    if (stopping) return; // stop() closes what was started
    // A failed start must not leave the embedded server behind; the sandbox closed its own pool.
    await sandboxStarting?.then((sandbox) => sandbox.close(), () => {});
    await embeddedStarting?.then((embedded) => embedded.stop(), () => {});
    const message = error instanceof SandboxStartError ? error.message : inspect(error);
    // The supervisor words it: a failed restart leaves dev running, a failed first start ends it.
    if (supervised) await new Promise((resolve) => process.send!({ type: 'failed', message } satisfies ToSupervisor, resolve));
    else console.error(`[sandbox] cannot start: ${message}`);
    process.exit(1);
  }
}

/** Requests being answered right now, counted from the start: shutdown reports them. */
function countRequests(server: Server): () => number {
  let count = 0;
  server.on('request', (_req, res) => {
    count++;
    res.once('close', () => count--);
  });
  return () => count;
}

/**
 * `server.close()` alone waits for every request in flight, for ever if one never ends. Here:
 * stop accepting, close idle keep-alive connections at once (and each one that turns idle while
 * waiting), give requests in flight `graceMs`, then close every connection still open.
 */
async function closeHttpServer(server: Server, graceMs: number, inFlight: () => number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  if (inFlight() === 0) return closed;
  console.log(`[sandbox] waiting up to ${graceMs} ms for ${plural(inFlight(), 'request')} in flight…`);
  // A keep-alive connection whose request ends during the grace period is idle from then on.
  const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  clearInterval(idleSweep);
  if (timedOut) {
    console.log(`[sandbox] closing the connections of ${plural(inFlight(), 'request')} still in flight after ${graceMs} ms`);
    server.closeAllConnections();
  }
  await closed;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

main().catch((error: unknown) => {
  console.error('[sandbox] failed:', error);
  process.exit(1);
});
