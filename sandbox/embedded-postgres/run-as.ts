/**
 * PostgreSQL refuses to run as root (containers, CI). When this process is root, the cluster runs
 * as an unprivileged system user instead, and both its binaries and its data directory must be
 * where that user can reach them: a project under /root (mode 0700) is not. Then the binaries are
 * copied once to the shared folder (shared-dir.ts) and the data directory is kept there, with the
 * project's `.sandbox/postgres` a symlink to it. Nothing here runs unless the process is root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SandboxStartError } from '../errors.ts';
import type { PostgresBinaries } from './binaries.ts';
import { rootOnlyDir, sharedDataDir, sharedRoot, userDataDir } from './shared-dir.ts';

export { sharedDataDir, sharedRoot } from './shared-dir.ts';

export interface RunAsUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The user to run PostgreSQL as, or undefined when this process is not root.
 * `FOUNDATION_PG_USER` names one; else `postgres` when it exists, else `nobody`.
 */
export function unprivilegedUser(env: NodeJS.ProcessEnv = process.env): RunAsUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const candidates = env.FOUNDATION_PG_USER ? [env.FOUNDATION_PG_USER] : ['postgres', 'nobody'];
  for (const name of candidates) {
    const ids = lookupUser(name);
    if (ids) return { name, ...ids };
  }
  throw new SandboxStartError(
    `PostgreSQL cannot run as root and no unprivileged user was found (tried: ${candidates.join(', ')}). ` +
    'Create one (e.g. `useradd --system postgres`) or name one with FOUNDATION_PG_USER, or set DATABASE_URL to use your own PostgreSQL.',
  );
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  if (!/^[a-z_][a-z0-9_-]*\$?$/i.test(name)) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `user` passes `test -<flag> target`, asked as that user. */
function userCan(user: RunAsUser, flag: 'x' | 'w', target: string): boolean {
  return spawnSync('test', [`-${flag}`, target], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

/** The binaries themselves when `user` can run them, else a copy it can (made once per version). */
export function binariesReachableBy(user: RunAsUser, binaries: PostgresBinaries): PostgresBinaries {
  if (userCan(user, 'x', binaries.postgres)) return binaries;
  const root = sharedRoot();
  const copyDir = path.join(root, `postgres-${binaries.label.replace(/[^a-z0-9.@-]/gi, '_')}`);
  const native = path.join(copyDir, 'native');
  rootOnlyDir(root, root);
  if (!rootOnlyDir(copyDir, root, { create: false })) {
    const staging = `${copyDir}.partial-${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.cpSync(binaries.nativeDir, path.join(staging, 'native'), { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    try {
      fs.renameSync(staging, copyDir);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
  }
  const relocated = {
    ...binaries,
    nativeDir: native,
    postgres: path.join(native, 'bin', path.basename(binaries.postgres)),
    initdb: path.join(native, 'bin', path.basename(binaries.initdb)),
  };
  if (!userCan(user, 'x', relocated.postgres)) {
    throw new SandboxStartError(`The PostgreSQL binaries copied to ${native} cannot be run by user ${user.name}. Check the permissions of ${root}.`);
  }
  return relocated;
}

/**
 * The directory PostgreSQL will use for `logicalDir`, owned by `user`. It is `logicalDir` itself
 * when `user` can reach it; otherwise a directory in the shared folder that `logicalDir` links to.
 * Deleting `.sandbox/` deletes the link, and the next start then begins from an empty cluster.
 */
export function dataDirReachableBy(user: RunAsUser, logicalDir: string): string {
  fs.mkdirSync(path.dirname(logicalDir), { recursive: true });
  const root = sharedRoot();
  const physical = sharedDataDir(logicalDir, root);
  const stat = fs.lstatSync(logicalDir, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) {
    rootOnlyDir(root, root);
    rootOnlyDir(path.dirname(physical), root);
    userDataDir(physical, user, root);
    return physical;
  }
  if (!stat) fs.mkdirSync(logicalDir, { mode: 0o700 });
  chownTree(logicalDir, user);
  if (userCan(user, 'w', logicalDir)) return logicalDir;
  if (fs.readdirSync(logicalDir).length > 0) {
    throw new SandboxStartError(
      `The data directory ${logicalDir} holds a cluster that user ${user.name} cannot reach (a parent folder is closed to it). ` +
      'Move the project to a folder other users can enter, or delete that directory to start afresh.',
    );
  }
  fs.rmdirSync(logicalDir);
  rootOnlyDir(root, root);
  rootOnlyDir(path.dirname(physical), root);
  fs.rmSync(physical, { recursive: true, force: true }); // left from a .sandbox/ that was deleted
  userDataDir(physical, user, root);
  fs.symlinkSync(physical, logicalDir);
  return physical;
}

/** lchown throughout: a link in the tree is given away itself, never what it points to. */
function chownTree(dir: string, user: RunAsUser): void {
  fs.lchownSync(dir, user.uid, user.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, user);
    else fs.lchownSync(full, user.uid, user.gid);
  }
}

/** Makes a file written by root (e.g. the initdb password file) readable by `user`. */
export function handOver(user: RunAsUser | undefined, file: string): void {
  if (user) fs.lchownSync(file, user.uid, user.gid);
}
