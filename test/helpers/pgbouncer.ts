/**
 * A real PgBouncer in front of a test server, as most production poolers run: transaction pooling,
 * a small server pool, and otherwise its default settings (no `ignore_startup_parameters`). It runs
 * from a generated ini in a temporary folder on a free loopback port, as an unprivileged user when
 * this process is root (PgBouncer refuses to run as root), and is stopped by its process id.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { unprivilegedUser } from '../../sandbox/embedded-postgres/run-as.ts';
import { throughPort } from './tcp-proxy.ts';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer', '/opt/homebrew/bin/pgbouncer'];

/** The pgbouncer program, or undefined when it is not installed (`apt-get install pgbouncer`). */
export function pgbouncerProgram(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).stdout.trim();
  return onPath || CANDIDATES.find((candidate) => fs.existsSync(candidate));
}

export interface PgBouncer {
  /** `serverUrl` with its host and port replaced by PgBouncer's. */
  url(serverUrl: string): string;
  /** PgBouncer's log so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts PgBouncer in front of the server of `serverUrl` (any database on it, as that URL's user). */
export async function startPgBouncer(serverUrl: string, settings: Record<string, string | number> = {}): Promise<PgBouncer> {
  const program = pgbouncerProgram();
  if (!program) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
  const server = new URL(serverUrl);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-pgbouncer-'));
  const port = await freePort();
  const logFile = path.join(dir, 'pgbouncer.log');
  const target = [
    `host=${server.hostname}`, `port=${server.port || 5432}`,
    `user=${decodeURIComponent(server.username || 'postgres')}`,
    server.password ? `password=${decodeURIComponent(server.password)}` : '',
  ].filter(Boolean).join(' ');
  const ini = {
    listen_addr: '127.0.0.1', listen_port: port, unix_socket_dir: '',
    // `any`: no client authentication, and every server login is the one [databases] names.
    auth_type: 'any', pool_mode: 'transaction', default_pool_size: 3,
    logfile: logFile, pidfile: path.join(dir, 'pgbouncer.pid'),
    ...settings,
  };
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'),
    `[databases]\n* = ${target}\n\n[pgbouncer]\n${Object.entries(ini).map(([key, value]) => `${key} = ${value}`).join('\n')}\n`);
  const user = unprivilegedUser();
  if (user) fs.chownSync(dir, user.uid, user.gid);
  for (const file of fs.readdirSync(dir)) if (user) fs.chownSync(path.join(dir, file), user.uid, user.gid);

  const child = spawn(program, [path.join(dir, 'pgbouncer.ini')], { uid: user?.uid, gid: user?.gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const log = () => `${output}${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''}`;
  const stop = async () => {
    await stopProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: (url) => throughPort(url, port),
    log, stop,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pgbouncer exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pgbouncer did not listen on 127.0.0.1:${port} within 10 s:\n${log()}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
