/**
 * The folder where, when this process is root, run-as.ts keeps what the unprivileged user must
 * reach: copies of the binaries and data directories. Its default lies in /var/tmp, where every
 * local user may create entries: one could create the folder first, or plant a symbolic link in
 * it, and root would then run binaries from, or give away, whatever that user chose. So each of
 * its folders is checked on the opened directory itself (never following a link), not by a path
 * that could be swapped between the check and the use.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SandboxStartError } from '../errors.ts';

/** Used when `FOUNDATION_PG_SHARED_DIR` is not set. */
export const DEFAULT_SHARED_ROOT = '/var/tmp/create-foundation-module';

export function sharedRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.FOUNDATION_PG_SHARED_DIR || DEFAULT_SHARED_ROOT);
}

/** Where the cluster of `logicalDir` is kept when the unprivileged user cannot reach `logicalDir`. */
export function sharedDataDir(logicalDir: string, root: string = sharedRoot()): string {
  return path.join(root, 'data', createHash('sha256').update(path.resolve(logicalDir)).digest('hex').slice(0, 16));
}

interface Owner {
  name: string;
  uid: number;
  gid: number;
}

/**
 * Makes sure `dir` (the shared root or a folder in it) is a real directory that only root can
 * change, creating it with mode 0755 when missing.
 * @returns false when it is missing and `create` is false
 */
export function rootOnlyDir(dir: string, root: string, { create = true }: { create?: boolean } = {}): boolean {
  const created = create && makeDir(dir, 0o755, root);
  const fd = openDir(dir, root);
  if (fd === undefined) return false;
  try {
    const { uid, mode } = fs.fstatSync(fd);
    if (uid !== 0) throw unsafe(dir, root, `is owned by uid ${uid}, not by root`);
    if (mode & 0o022) throw unsafe(dir, root, `can be changed by other users (mode ${octal(mode)})`);
    if (created) fs.fchmodSync(fd, 0o755); // mkdir's mode is masked by the umask
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * A data directory in `root` (whose folders rootOnlyDir has checked) given to `user`: created
 * with mode 0700, or an existing real directory of `user` or root (PostgreSQL checks its mode).
 */
export function userDataDir(dir: string, user: Owner, root: string): void {
  makeDir(dir, 0o700, root);
  const fd = openDir(dir, root);
  if (fd === undefined) throw unsafe(dir, root, 'was removed while being created');
  try {
    const { uid } = fs.fstatSync(fd);
    if (uid !== user.uid && uid !== 0) throw unsafe(dir, root, `is owned by uid ${uid}, neither by ${user.name} (uid ${user.uid}) nor by root`);
    fs.fchownSync(fd, user.uid, user.gid);
  } finally {
    fs.closeSync(fd);
  }
}

/** @returns whether it was created (false: something already exists there, checked next) */
function makeDir(dir: string, mode: number, root: string): boolean {
  try {
    fs.mkdirSync(dir, { mode });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SandboxStartError(
      `Cannot create ${dir}: ${(error as Error).message}. ` +
      `Running as root, the embedded PostgreSQL keeps files in ${root}; set FOUNDATION_PG_SHARED_DIR to a folder whose parent exists, ` +
      'or set DATABASE_URL to use a PostgreSQL server of your own.',
      { cause: error },
    );
  }
}

/** An open descriptor of the directory `dir` itself, or undefined when nothing is there. */
function openDir(dir: string, root: string): number | undefined {
  try {
    return fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!stat) return undefined;
    if (stat.isSymbolicLink()) throw unsafe(dir, root, 'is a symbolic link');
    if (!stat.isDirectory()) throw unsafe(dir, root, 'is not a directory');
    throw error;
  }
}

function unsafe(dir: string, root: string, problem: string): SandboxStartError {
  // Removing a custom root could remove far more than the kit's files (think /tmp): name another one instead.
  const fix = dir === root && root !== DEFAULT_SHARED_ROOT
    ? `Set FOUNDATION_PG_SHARED_DIR to a folder that does not exist yet, so that it is created for root alone`
    : `Remove it (\`sudo rm -rf ${dir}\`) and start again`;
  return new SandboxStartError(
    `Refusing to use ${dir}: it ${problem}. Running as root, the embedded PostgreSQL keeps its binaries and data in ${root}, ` +
    `which only root may change, or another user could take over what is kept there. ${fix}, ` +
    'or set DATABASE_URL to use a PostgreSQL server of your own.',
  );
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
