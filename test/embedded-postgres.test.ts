import { spawnSync, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { locatePostgresBinaries } from '../sandbox/embedded-postgres/binaries.ts';
import { startEmbeddedPostgres } from '../sandbox/embedded-postgres/cluster.ts';
import { binariesReachableBy, sharedDataDir, sharedRoot, unprivilegedUser } from '../sandbox/embedded-postgres/run-as.ts';
import { SandboxStartError } from '../sandbox/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-embedded-'));
fs.chmodSync(tmp, 0o755);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A folder for the shared root that the unprivileged user can reach but that doesn't exist yet. */
function freshSharedRoot(): string {
  const parent = fs.mkdtempSync(path.join(tmp, 'shared-'));
  fs.chmodSync(parent, 0o755);
  return path.join(parent, 'root');
}

/** Starts a process whose parent then exits, as a server outliving a killed sandbox does. */
function orphanProcess(command: string, args: string[], options: SpawnOptions = {}): number {
  const script = `const c = require('node:child_process').spawn(${JSON.stringify(command)}, ${JSON.stringify(args)}, ` +
    `{ ...${JSON.stringify(options)}, detached: true, stdio: 'ignore' }); console.log(c.pid); c.unref();`;
  return Number(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout.trim());
}

/** Running, not merely a zombie that init has yet to reap. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* already gone */ }
}

/** Starts and stops a cluster in `dataDir`, returning its physical dir and `postmaster.pid` lines after the first. */
async function stoppedCluster(dataDir: string): Promise<{ dir: string; port: number; pidFileTail: string[] }> {
  const cluster = await startEmbeddedPostgres({ dataDir, fast: true });
  const [, ...pidFileTail] = fs.readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n');
  await cluster.stop();
  return { dir: cluster.dataDir, port: cluster.port, pidFileTail };
}

describe('the embedded PostgreSQL is a real server', () => {
  const url = inject('embeddedPostgresUrl');

  it('lets only one of two connections hold an advisory lock', async () => {
    const [a, b] = await Promise.all([connect(url), connect(url)]);
    try {
      expect((await a.query('SELECT pg_try_advisory_lock(4242) AS got')).rows[0].got).toBe(true);
      expect((await b.query('SELECT pg_try_advisory_lock(4242) AS got')).rows[0].got).toBe(false);
      await a.query('SELECT pg_advisory_unlock(4242)');
      expect((await b.query('SELECT pg_try_advisory_lock(4242) AS got')).rows[0].got).toBe(true);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('keeps a session setting on the connection that made it', async () => {
    const [a, b] = await Promise.all([connect(url), connect(url)]);
    try {
      await a.query('SET search_path TO leaked_schema');
      expect((await a.query('SHOW search_path')).rows[0].search_path).toBe('leaked_schema');
      expect((await b.query('SHOW search_path')).rows[0].search_path).toBe('"$user", public');
      const pids = await Promise.all([a, b].map(async (c) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid));
      expect(pids[0]).not.toBe(pids[1]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});

describe('an embedded cluster of its own', () => {
  it('keeps its data across a stop and a start, and leaves no server running', async () => {
    const dataDir = path.join(tmp, 'persist', 'postgres');
    const first = await startEmbeddedPostgres({ dataDir, fast: true });
    const c1 = await connect(first.url);
    await c1.query('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$still here$$)');
    await c1.end();
    await first.stop();
    expect(fs.existsSync(path.join(first.dataDir, 'postmaster.pid'))).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir, fast: true });
    try {
      expect(second.port).toBe(first.port); // the last port is reused when free, so psql strings stay valid
      const c2 = await connect(second.url);
      expect((await c2.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
      await c2.end();
    } finally {
      await second.stop();
    }
  });

  it('explains a server that cannot start and how to use DATABASE_URL instead', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const error = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'busy', 'postgres'), port, fast: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SandboxStartError);
      expect((error as Error).message).toMatch(/exited while starting.*could not (bind|create listen socket).*DATABASE_URL/s);
    } finally {
      blocker.close();
    }
  });

  it('names a platform without binaries and the DATABASE_URL way out', () => {
    expect(() => locatePostgresBinaries('plan9-x64')).toThrow(/ships no PostgreSQL binaries for plan9-x64.*DATABASE_URL=postgres:\/\//s);
  });
});

describe('a postmaster.pid left by a crash or a reboot', () => {
  it('leaves alone the unrelated process its pid now belongs to, and starts', async () => {
    const dataDir = path.join(tmp, 'stale-pid', 'postgres');
    const { dir, pidFileTail } = await stoppedCluster(dataDir);
    // An orphan, as a server outliving its sandbox would be (the old code signalled it, or refused
    // when a subreaper rather than init adopted it).
    const stranger = orphanProcess('sleep', ['300']);
    try {
      fs.writeFileSync(path.join(dir, 'postmaster.pid'), [stranger, ...pidFileTail].join('\n'));
      const cluster = await startEmbeddedPostgres({ dataDir, fast: true });
      try {
        const client = await connect(cluster.url);
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        await client.end();
      } finally {
        await cluster.stop();
      }
      expect(isRunning(stranger)).toBe(true);
    } finally {
      kill(stranger);
    }
  });

  it('leaves alone the server of another data directory that now has its pid, and starts', async () => {
    const other = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'other-data', 'postgres'), fast: true });
    try {
      const dataDir = path.join(tmp, 'reused-pid', 'postgres');
      const { dir, pidFileTail } = await stoppedCluster(dataDir);
      const otherPid = fs.readFileSync(path.join(other.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!;
      fs.writeFileSync(path.join(dir, 'postmaster.pid'), [otherPid, ...pidFileTail].join('\n'));
      const cluster = await startEmbeddedPostgres({ dataDir, fast: true });
      await cluster.stop();
      const client = await connect(other.url);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await other.stop();
    }
  });

  it('stops the server of this data directory left running by a killed sandbox, and starts', async () => {
    const dataDir = path.join(tmp, 'orphaned-server', 'postgres');
    const { dir, port } = await stoppedCluster(dataDir);
    const runAs = unprivilegedUser();
    const binaries = runAs ? binariesReachableBy(runAs, locatePostgresBinaries()) : locatePostgresBinaries();
    const orphan = orphanProcess(
      binaries.postgres,
      ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { cwd: os.tmpdir(), ...(runAs && { uid: runAs.uid, gid: runAs.gid }) },
    );
    try {
      const pidFile = path.join(dir, 'postmaster.pid');
      for (let waited = 0; !/\bready\b/.test(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : ''); waited += 50) {
        if (waited > 15_000) throw new Error('the orphaned server did not start');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])).toBe(orphan);
      const cluster = await startEmbeddedPostgres({ dataDir, fast: true });
      await cluster.stop();
      expect(isRunning(orphan)).toBe(false);
    } finally {
      kill(orphan);
    }
  });

  it('refuses a data directory whose server another running sandbox owns', async () => {
    const dataDir = path.join(tmp, 'in-use', 'postgres');
    const running = await startEmbeddedPostgres({ dataDir, fast: true });
    try {
      await expect(startEmbeddedPostgres({ dataDir, fast: true })).rejects.toThrow(/Another sandbox is already using .*Stop that `npm run dev` first/s);
    } finally {
      await running.stop();
    }
  });
});

const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot)('running as root (PostgreSQL refuses root)', () => {
  // A fresh shared folder per test, never the real one other test runs may be using.
  beforeEach(() => {
    vi.stubEnv('FOUNDATION_PG_SHARED_DIR', freshSharedRoot());
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('runs the server as an unprivileged user, with data kept where that user can reach it', async () => {
    const closed = path.join(tmp, 'root-only');
    fs.mkdirSync(closed, { mode: 0o700 });
    fs.chmodSync(closed, 0o700);
    const logical = path.join(closed, '.sandbox', 'postgres');
    const cluster = await startEmbeddedPostgres({ dataDir: logical, fast: true });
    try {
      expect(fs.lstatSync(logical).isSymbolicLink()).toBe(true);
      expect(fs.realpathSync(logical)).toBe(cluster.dataDir);
      expect(cluster.dataDir.startsWith(sharedRoot())).toBe(true);
      const client = await connect(cluster.url);
      const { pid } = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0];
      const processUid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      await client.end();
      expect(processUid).toBe(unprivilegedUser()!.uid);
      expect(processUid).not.toBe(0);
      expect(fs.statSync(cluster.dataDir).uid).toBe(processUid);
    } finally {
      await cluster.stop();
      fs.rmSync(cluster.dataDir, { recursive: true, force: true });
    }
  });

  it('copies the binaries once to a place the user can run them from', () => {
    const user = unprivilegedUser()!;
    const binaries = locatePostgresBinaries();
    const hidden = path.join(tmp, 'hidden-binaries');
    fs.mkdirSync(hidden, { mode: 0o700 });
    fs.chmodSync(hidden, 0o700);
    fs.cpSync(binaries.nativeDir, path.join(hidden, 'native'), { recursive: true, verbatimSymlinks: true });
    const label = `test-${process.pid}-${Date.now()}`;
    const hiddenBinaries = { ...binaries, label, nativeDir: path.join(hidden, 'native'), postgres: path.join(hidden, 'native/bin/postgres'), initdb: path.join(hidden, 'native/bin/initdb') };
    const reachable = binariesReachableBy(user, hiddenBinaries);
    try {
      expect(reachable.postgres.startsWith(sharedRoot())).toBe(true);
      const run = spawnSync(reachable.postgres, ['--version'], { uid: user.uid, gid: user.gid, encoding: 'utf8' });
      expect(run.stdout).toMatch(/PostgreSQL\) \d+/);
      expect(binariesReachableBy(user, hiddenBinaries).postgres).toBe(reachable.postgres);
    } finally {
      fs.rmSync(path.dirname(reachable.nativeDir), { recursive: true, force: true });
    }
  });

  // Another local user can create entries in /var/tmp: each row is something they could leave there.
  const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const unsafeShared: { left: string; plant(root: string, logical: string, victim: string): string; problem: RegExp }[] = [
    {
      left: 'a shared folder owned by another user',
      plant: (root) => (fs.mkdirSync(root, { mode: 0o755 }), fs.chownSync(root, nobody, nobody), root),
      problem: new RegExp(`owned by uid ${nobody}`),
    },
    {
      left: 'a shared folder any user can write to',
      plant: (root) => (fs.mkdirSync(root), fs.chmodSync(root, 0o777), root),
      problem: /mode 0777/,
    },
    {
      left: 'a shared folder that is a symbolic link',
      plant: (root, _logical, victim) => (fs.symlinkSync(victim, root), root),
      problem: /is a symbolic link/,
    },
    {
      left: 'a data folder owned by another user',
      plant: (root) => {
        fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o755 });
        fs.chownSync(path.join(root, 'data'), nobody, nobody);
        return path.join(root, 'data');
      },
      problem: new RegExp(`owned by uid ${nobody}`),
    },
    {
      left: "a symbolic link in place of the project's data directory",
      plant: (root, logical, victim) => {
        fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o755 });
        fs.symlinkSync(victim, sharedDataDir(logical, root));
        return sharedDataDir(logical, root);
      },
      problem: /is a symbolic link/,
    },
  ];

  it.each(unsafeShared)('refuses $left, naming it and the ways out, and changes nothing', async ({ plant, problem }) => {
    const root = freshSharedRoot();
    vi.stubEnv('FOUNDATION_PG_SHARED_DIR', root);
    const project = fs.mkdtempSync(path.join(tmp, 'closed-project-')); // mode 0700: the user can't reach it
    const logical = path.join(project, '.sandbox', 'postgres');
    fs.mkdirSync(path.dirname(logical));
    fs.symlinkSync(sharedDataDir(logical, root), logical); // as a previous start left it
    const victim = fs.mkdtempSync(path.join(tmp, 'victim-'));
    const refused = plant(root, logical, victim);

    const error = await startEmbeddedPostgres({ dataDir: logical, fast: true })
      .then(async (cluster) => (await cluster.stop(), cluster), (e: unknown) => e);
    expect(fs.statSync(victim).uid).toBe(0);
    expect(fs.readdirSync(victim)).toEqual([]);
    expect(error).toBeInstanceOf(SandboxStartError);
    const { message } = error as Error;
    expect(message).toContain(refused);
    expect(message).toMatch(problem);
    expect(message).toMatch(/sudo rm -rf|FOUNDATION_PG_SHARED_DIR/);
    expect(message).toMatch(/DATABASE_URL/);
  });

  it('refuses to copy the binaries into a shared folder any user can write to', () => {
    const root = freshSharedRoot();
    vi.stubEnv('FOUNDATION_PG_SHARED_DIR', root);
    fs.mkdirSync(root);
    fs.chmodSync(root, 0o777);
    const hidden = path.join(fs.mkdtempSync(path.join(tmp, 'closed-binaries-')), 'native'); // mode 0700
    const binaries = { ...locatePostgresBinaries(), label: 'unsafe-root', nativeDir: hidden, postgres: path.join(hidden, 'bin/postgres'), initdb: path.join(hidden, 'bin/initdb') };
    expect(() => binariesReachableBy(unprivilegedUser()!, binaries)).toThrow(new RegExp(`Refusing to use ${root}: .*mode 0777.*DATABASE_URL`, 's'));
    expect(fs.readdirSync(root)).toEqual([]);
  });
});

describe.skipIf(isRoot)('running as an ordinary user', () => {
  it('needs no other user', () => {
    // Reported as skipped under root, where the suite above covers the unprivileged-user path.
    expect(unprivilegedUser()).toBeUndefined();
  });
});
