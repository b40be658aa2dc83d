/**
 * The sandbox API as a process, started by `foundation-module dev`. Settings come from the
 * environment the dev command sets:
 *   FOUNDATION_MODULE_DIRS  JSON array of module directories
 *   FOUNDATION_API_PORT     port on 127.0.0.1 (default 3000)
 *   FOUNDATION_SANDBOX_DIR  where the embedded database lives (default ./.sandbox)
 *   DATABASE_URL            use this PostgreSQL instead of the embedded one
 * Stops cleanly on SIGINT/SIGTERM: HTTP server, pool, then the embedded PostgreSQL.
 */
import type { Server } from 'node:http';
import path from 'node:path';
import { redact } from './db.ts';
import { SandboxStartError } from './errors.ts';
import { createSandbox, type Sandbox } from './index.ts';

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
  let starting: Promise<Sandbox> | undefined;
  let server: Server | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[sandbox] ${signal}: stopping…`);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    // A signal during start-up waits for it, so the embedded server it started is stopped too.
    await starting?.then((sandbox) => sandbox.close(), () => {});
    console.log('[sandbox] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  starting = createSandbox({ moduleDirs: moduleDirsFromEnv(), sandboxDir, runCron: true });
  const sandbox = await starting;
  if (stopping) return;
  server = sandbox.app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server!.once('listening', resolve);
    server!.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE'
      ? new SandboxStartError(`Port ${port} is taken: stop what uses it or pass --api-port.`) : error));
  });
  const { database, plugins } = sandbox;
  const lines = [
    `API       http://127.0.0.1:${port}  (health: /health, plugins: ${plugins.map((p) => `/api/plugins/${p.meta.id}`).join(', ') || 'none'})`,
    database.kind === 'embedded'
      ? `Database  embedded PostgreSQL, data in ${path.join(sandboxDir, 'postgres')}\n          psql "${database.url}"`
      : `Database  ${redact(database.url ?? '')}`,
    'Identity  dev headers X-Tenant-Id: dev|acme, X-User-Id: admin@sandbox.dev|user@sandbox.dev',
  ];
  console.log(`[sandbox] ready\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

main().catch((error: unknown) => {
  if (error instanceof SandboxStartError) console.error(`[sandbox] cannot start: ${error.message}`);
  else console.error('[sandbox] cannot start:', error);
  process.exit(1);
});
