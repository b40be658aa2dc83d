/**
 * The module's run-time dependencies merged into the foundation's package.json: a missing one is
 * added; one the foundation has with another major version is a conflict (its other code was
 * built against that major), refused unless forced, and then the foundation's range is kept.
 */
import semver from 'semver';

export interface DependencyChange {
  name: string;
  /** The module's range. */
  wanted: string;
  /** The foundation's range, when it has one. */
  present?: string;
  kind: 'add' | 'keep' | 'conflict';
}

export function mergeDependencies(foundation: Record<string, string> = {}, module: Record<string, string> = {}): DependencyChange[] {
  return Object.entries(module).sort(([a], [b]) => a.localeCompare(b)).map(([name, wanted]) => {
    const present = foundation[name];
    if (present === undefined) return { name, wanted, kind: 'add' };
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
