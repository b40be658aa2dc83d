/**
 * The `postmaster.pid` a server leaves in its data directory. A server left running by a sandbox
 * that was killed still holds the directory and is stopped; one that another running sandbox owns
 * is refused. But the file outlives a crash or a reboot, and its pid may by now belong to any
 * process, so nothing is signalled until that process is proven to be the postmaster of this very
 * directory; otherwise the file is stale and removed (PostgreSQL would refuse to start while the
 * pid it names is alive, whatever process that is).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SandboxStartError } from '../errors.ts';

export function clearPostmasterPid(dir: string): void {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const [pidLine = '', , , portLine = ''] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const ours = isPostmasterOf(pid, dir);
  if (ours === undefined) {
    throw new SandboxStartError(
      `Cannot tell whether process ${pid}, named in ${pidFile}, is the PostgreSQL server of ${dir}. ` +
      `If no other sandbox uses that directory, delete ${pidFile} and start again.`,
    );
  }
  if (!ours) {
    fs.rmSync(pidFile, { force: true });
    return;
  }
  const parent = parentPid(pid);
  if (parent === undefined || (parent !== 1 && isAlive(parent))) {
    throw new SandboxStartError(
      `Another sandbox is already using the embedded PostgreSQL in ${dir} (server pid ${pid}, port ${portLine.trim()}). ` +
      'Stop that `npm run dev` first, or give this one other data: `foundation-module dev --sandbox-dir <dir>`.',
    );
  }
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
}

/**
 * The server that another running sandbox (`npm run dev`) owns in `dir`, if there is one: the
 * operator commands share it instead of refusing to start a second one on the same files.
 */
export function serverOwnedByRunningSandbox(dir: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const [pidLine = '', , , portLine = ''] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535 || !isAlive(pid)) return undefined;
  if (isPostmasterOf(pid, dir) !== true) return undefined;
  const parent = parentPid(pid);
  return parent !== undefined && parent !== 1 && isAlive(parent) ? { pid, port } : undefined;
}

/** A zombie counts as dead: it holds nothing, and init reaps it in its own time. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procStat(pid)?.state !== 'Z';
}

/**
 * Whether `pid` runs the `postgres` executable with `-D` naming `dir` (compared by real path);
 * undefined when its command line can't be read.
 */
function isPostmasterOf(pid: number, dir: string): boolean | undefined {
  const realDir = fs.realpathSync(dir);
  const sameDir = (candidate: string) => {
    try {
      return fs.realpathSync(candidate) === realDir;
    } catch {
      return false;
    }
  };
  const isPostgres = (exe: string) => /^postgres(\.exe)?$/.test(exe.split(/[\\/]/).pop() ?? '');
  let argv: string[] | undefined;
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1); // NUL-terminated
  } catch {
    // Not Linux: ps joins the arguments with spaces, so look for `-D <dir>` as written by cluster.ts.
    const ps = spawnSync('ps', ['-ww', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    if (ps.status !== 0 || !ps.stdout) return isAlive(pid) ? undefined : false;
    const command = ps.stdout.trim();
    const at = command.indexOf(' -D ');
    if (at < 0 || !isPostgres(command.slice(0, command.indexOf(' -')))) return false;
    return [path.resolve(dir), realDir].some((candidate) =>
      command.startsWith(` -D ${candidate}`, at) && [undefined, ' '].includes(command[at + 4 + candidate.length]));
  }
  if (!isPostgres(argv[0] ?? '')) return false;
  for (let i = 1; i < argv.length; i++) {
    const value = argv[i] === '-D' ? argv[i + 1] : argv[i]!.startsWith('-D') ? argv[i]!.slice(2) : undefined;
    if (value !== undefined) return sameDir(value);
  }
  return false;
}

/** The parent of `pid`, or undefined when it can't be told (then the server is left alone). */
function parentPid(pid: number): number | undefined {
  const stat = procStat(pid);
  if (stat) return stat.parent;
  const ps = spawnSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }); // macOS, BSD
  const parent = Number(ps.stdout?.trim());
  return ps.status === 0 && Number.isInteger(parent) && parent > 0 ? parent : undefined;
}

/** State letter and parent from `/proc/<pid>/stat` (Linux); undefined elsewhere. */
function procStat(pid: number): { state: string; parent: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state = '', parent = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, parent: Number(parent) };
  } catch {
    return undefined;
  }
}
