/**
 * The `[api]` process of `foundation-module dev` (started by commands/dev.ts). It
 * owns the embedded PostgreSQL, so that the database stays up while the API restarts, and runs
 * the API (sandbox/server.ts) as a child on it. When a module's plugin/, shared/, migrations/ or
 * module.config.ts changes, it starts the next API, which loads the changed modules while the
 * previous one still serves. Only when they load does it stop the previous API (requests in
 * flight get their grace period) and let the next one open the database and listen on the same
 * port. Code that does not load (a syntax error, a bad import, a contract violation) leaves the
 * previous API serving, with the error printed.
 *
 * Environment: as sandbox/server.ts (FOUNDATION_MODULE_DIRS, FOUNDATION_SANDBOX_DIR, DATABASE_URL,
 * SANDBOX_SHUTDOWN_GRACE_MS, …), all passed on to the API.
 * Ctrl-C / SIGTERM: stop watching, stop the API gracefully, stop the embedded server, exit. A
 * second signal, a second or more after the first, kills the API and stops the server at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../sandbox/embedded-postgres/cluster.ts';
import { SandboxStartError } from '../../sandbox/errors.ts';
import { startApi, type ApiProcess } from './api-process.ts';
import { watchModules, type ChangedFile, type ModuleWatcher } from './module-watcher.ts';

/**
 * A terminal's Ctrl-C reaches this process twice: from the terminal (to its whole process
 * group) and from dev, which passes it on to both of its processes. A repeat
 * within this time is that same Ctrl-C, not a second one.
 */
const REPEAT_MS = 1_000;
/** Plugin code that never finishes loading (a top-level await) must not stall restarts. */
const LOAD_TIMEOUT_MS = 30_000;

const moduleDirs = JSON.parse(process.env.FOUNDATION_MODULE_DIRS ?? '[]') as string[];
const sandboxDir = path.resolve(process.env.FOUNDATION_SANDBOX_DIR ?? '.sandbox');
// The API stops itself within its grace period plus the pool's 2 s; past this it is killed.
const stopTimeoutMs = (Number(process.env.SANDBOX_SHUTDOWN_GRACE_MS) || 3_000) + 10_000;

let embeddedStarting: Promise<EmbeddedPostgres> | undefined;
let apiEnv: NodeJS.ProcessEnv = {};
/** The API that serves (or last served). */
let api: ApiProcess | undefined;
/** The API being started by a restart, until it replaces `api`. */
let next: ApiProcess | undefined;
let serving = false;
let watcher: ModuleWatcher | undefined;
let queued: ChangedFile[] = [];
let restarting: Promise<void> | undefined;
let stopping = false;
let forced = false;
let firstSignalAt = 0;

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onSignal(signal));
  const databaseUrl = process.env.DATABASE_URL || undefined;
  if (!databaseUrl) embeddedStarting = startEmbeddedPostgres({ dataDir: path.join(sandboxDir, 'postgres') });
  const url = databaseUrl ?? (await embeddedStarting!).url;
  if (stopping) return;
  // The API prints the embedded server's lines (data folder, psql) as when it starts one itself.
  apiEnv = { ...process.env, DATABASE_URL: url, FOUNDATION_DATABASE_EMBEDDED: databaseUrl ? '' : '1' };
  // Watching starts before the API, so that an edit made while it starts is not missed.
  watcher = watchModules(moduleDirs, (changes) => {
    queued.push(...changes);
    restarting ??= restartWhileQueued();
  });
  const first = (api = spawnApi());
  const loaded = await loadedWithin(first);
  if (loaded.ok) first.go();
  const outcome = loaded.ok ? await first.ready : loaded;
  // Stopping, or replaced by a restart meanwhile (an edit during the start): not ours to judge.
  if (stopping || api !== first) return;
  if (!outcome.ok) {
    // As ever: a module or database that fails at the first start ends dev (code 1).
    console.error(`[sandbox] cannot start: ${outcome.message}`);
    watcher.close();
    first.kill();
    await embeddedStarting?.then((embedded) => embedded.stop());
    process.exit(1);
  }
  serving = true;
}

function spawnApi(): ApiProcess {
  const started = startApi({ env: apiEnv });
  void started.exited.then((how) => {
    if (api !== started || started.stopping || stopping || !serving) return;
    serving = false;
    console.error(`[sandbox] the API exited (${typeof how === 'number' ? `code ${how}` : how}); it starts again when a module file changes`);
  });
  return started;
}

function loadedWithin(started: ApiProcess): Promise<Awaited<ApiProcess['loaded']>> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    started.loaded,
    new Promise<Awaited<ApiProcess['loaded']>>((resolve) => (timer = setTimeout(() => {
      started.kill();
      resolve({ ok: false, message: `The modules did not finish loading in ${LOAD_TIMEOUT_MS / 1000} s (a top-level await that never settles?).` });
    }, LOAD_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
}

/** One restart at a time; changes saved meanwhile make one more. */
async function restartWhileQueued(): Promise<void> {
  while (queued.length > 0 && !stopping) {
    const changes = queued;
    queued = [];
    await restart(changes);
  }
  restarting = undefined;
}

async function restart(changes: ChangedFile[]): Promise<void> {
  const what = describe(changes);
  next = spawnApi();
  const loaded = await loadedWithin(next);
  if (stopping) return;
  if (queued.length > 0) {
    // Saved again while loading: load the newest code instead.
    queued.unshift(...changes);
    await next.stop(stopTimeoutMs);
    next = undefined;
    return;
  }
  if (!loaded.ok) {
    next = undefined; // it exits by itself
    const state = serving ? 'the API keeps running the previous code' : 'the API stays stopped until it does';
    console.error(`[sandbox] ${what} changed but the module does not load; ${state}:\n${indent(loaded.message)}`);
    return;
  }
  console.log(`[sandbox] ${what} changed: ${serving ? 'restarting' : 'starting'} the API…`);
  serving = false;
  await api?.stop(stopTimeoutMs);
  if (stopping) return;
  api = next;
  next = undefined;
  api.go();
  const ready = await api.ready;
  if (stopping) return;
  if (ready.ok) serving = true;
  // Loading passed, but register(), a migration or the port failed.
  else console.error(`[sandbox] ${what} changed but the API cannot start; it starts again when a module file changes:\n${indent(ready.message)}`);
}

function onSignal(signal: NodeJS.Signals): void {
  if (!stopping) {
    firstSignalAt = Date.now();
    void shutdown(signal);
  } else if (Date.now() - firstSignalAt >= REPEAT_MS) {
    void stopNow(signal);
  }
}

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  stopping = true;
  console.log(`[sandbox] ${signal}: stopping…`);
  watcher?.close();
  await Promise.all([api?.stop(stopTimeoutMs), next?.stop(stopTimeoutMs)]);
  // A restart under way sees `stopping` and starts nothing more.
  await restarting;
  // A signal during start-up waits for the embedded server to be up, to stop it.
  await embeddedStarting?.then((embedded) => embedded.stop(), () => {});
  console.log('[sandbox] stopped');
  process.exit(0);
}

async function stopNow(signal: NodeJS.Signals): Promise<void> {
  if (forced) return;
  forced = true;
  console.log(`[sandbox] ${signal} again: stopping now, without waiting for requests`);
  api?.kill();
  next?.kill();
  await embeddedStarting?.then((embedded) => embedded.stop(), () => {});
  process.exit(1);
}

/**
 * `plugin/items.ts`, or `plugin/items.ts and 2 more files`; with several modules,
 * `items/plugin/items.ts`. Files that exist come first: the others are mostly an editor's
 * temporary files, gone by now.
 */
function describe(changes: ChangedFile[]): string {
  const exists = (change: ChangedFile) => fs.existsSync(path.join(change.moduleDir, change.file));
  const sorted = [...changes.filter(exists), ...changes.filter((change) => !exists(change))];
  const names = [...new Set(sorted.map(({ moduleDir, file }) => (moduleDirs.length > 1 ? `${path.basename(moduleDir)}/${file}` : file)))];
  const more = names.length - 1;
  return more > 0 ? `${names[0]} and ${more} more file${more === 1 ? '' : 's'}` : names[0]!;
}

function indent(text: string): string {
  return text.trim().split('\n').map((line) => `  ${line}`).join('\n');
}

main().catch(async (error: unknown) => {
  if (error instanceof SandboxStartError) console.error(`[sandbox] cannot start: ${error.message}`);
  else console.error('[sandbox] cannot start:', error);
  watcher?.close();
  api?.kill();
  next?.kill();
  await embeddedStarting?.then((embedded) => embedded.stop(), () => {});
  process.exit(1);
});
