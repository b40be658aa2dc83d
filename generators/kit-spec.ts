/**
 * `--kit <spec>`: which create-foundation-module a new module installs, for teams trying a kit
 * that is not on their registry yet. A version range or a dist-tag goes into package.json as
 * given; a path (a tarball from `npm pack`, or a kit folder) becomes `file:<absolute path>`, so
 * the module installs it from wherever the module is.
 */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

export const KIT_SPEC_RULE = 'a version range (^0.2.0), a dist-tag (next), or the path of a kit tarball made by npm pack (./create-foundation-module-0.1.0.tgz) or of a kit folder';

const DIST_TAG = /^[a-z][a-z0-9._-]{0,49}$/i;

/** The devDependency spec for `given`; throws a message naming what is wrong. */
export function kitSpec(given: string, cwd: string, kitName: string): string {
  const pathGiven = given.startsWith('file:') ? given.slice('file:'.length) : /^(\.{1,2}[\\/]|[\\/~]|[A-Za-z]:[\\/])|\.t(ar\.)?gz$/.test(given) ? given : undefined;
  if (pathGiven === undefined) {
    if (semver.validRange(given) !== null || DIST_TAG.test(given)) return given;
    throw new Error(`--kit ${JSON.stringify(given)} is none of ${KIT_SPEC_RULE}.`);
  }
  const absolute = path.resolve(cwd, pathGiven.replace(/^~(?=[\\/])/, process.env.HOME ?? '~'));
  if (!fs.existsSync(absolute)) throw new Error(`--kit ${JSON.stringify(given)}: ${absolute} does not exist. Give ${KIT_SPEC_RULE}.`);
  if (fs.statSync(absolute).isDirectory()) {
    const manifest = path.join(absolute, 'package.json');
    const name = fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name : undefined;
    if (name !== kitName) throw new Error(`--kit ${JSON.stringify(given)}: ${absolute} is not a ${kitName} folder (its package.json names ${JSON.stringify(name ?? null)}).`);
  } else if (!/\.t(ar\.)?gz$/.test(absolute)) {
    throw new Error(`--kit ${JSON.stringify(given)}: ${absolute} is a file but no tarball (.tgz): give ${KIT_SPEC_RULE}.`);
  }
  return `file:${absolute}`;
}
