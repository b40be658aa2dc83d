/**
 * The module's run-time dependencies merged into the foundation's package.json: a missing one is
 * added; one the foundation has with another major version is a conflict (its other code was
 * built against that major), refused unless forced, and then the foundation's range is kept.
 * Added ones follow the foundation's style: an exact version where it pins its own (every
 * dependency exact, or `save-exact=true` in its .npmrc), the module's range otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

export interface DependencyChange {
  name: string;
  /** The module's range. */
  wanted: string;
  /** The foundation's range, when it has one. */
  present?: string;
  kind: 'add' | 'keep' | 'conflict';
}

export function mergeDependencies(foundation: Record<string, string> = {}, module: Record<string, string> = {}, { exact = false } = {}): DependencyChange[] {
  return Object.entries(module).sort(([a], [b]) => a.localeCompare(b)).map(([name, wanted]) => {
    const present = foundation[name];
    if (present === undefined) return { name, wanted: exact ? pinned(wanted) : wanted, kind: 'add' };
    return { name, wanted, present, kind: sameMajor(present, wanted) ? 'keep' : 'conflict' };
  });
}

/** Whether two ranges can be met by one major version (a range npm can't read counts as a conflict). */
function sameMajor(a: string, b: string): boolean {
  const low = (range: string) => {
    try {
      return semver.minVersion(range);
    } catch {
      return null;
    }
  };
  const [x, y] = [low(a), low(b)];
  if (!x || !y) return a === b;
  // 0.x: each minor is its own major, as npm's caret reads it.
  return x.major === y.major && (x.major !== 0 || x.minor === y.minor);
}

/** Whether the foundation at `root` pins its dependencies to exact versions. */
export function pinsExactVersions(root: string, dependencies: Record<string, string> = {}): boolean {
  const npmrc = path.join(root, '.npmrc');
  if (fs.existsSync(npmrc) && /^\s*save-exact\s*=\s*true\s*$/m.test(fs.readFileSync(npmrc, 'utf8'))) return true;
  const ranges = Object.values(dependencies);
  return ranges.length > 0 && ranges.every((range) => semver.valid(range) !== null);
}

/** The lowest version a range allows, as an exact pin (a range npm can't read is kept as written). */
function pinned(range: string): string {
  try {
    return semver.minVersion(range)?.version ?? range;
  } catch {
    return range;
  }
}
