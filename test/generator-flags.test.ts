/**
 * Hostile flag values, one table per command: empty, bare (no value, or another flag where the
 * value should be), twice, control characters, very long. Each is refused with the flag's rule
 * and writes nothing; none falls back to a default.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCreate } from '../generators/create.ts';
import { runGenerate } from '../generators/generate.ts';
import { REPO_ROOT } from '../scripts/examples.ts';
import { scratchFolders, treeSnapshot } from './helpers/generator-runs.ts';

const tempDir = scratchFolders('fm-flags-');
const snapshot = treeSnapshot;

const LONG = 'x'.repeat(5000);

describe('create-foundation-module refuses hostile flag values', () => {
  const cases: [what: string, flags: string[], refusal: RegExp][] = [];
  for (const [flag, rule] of [['name', /a display name of 1-80 characters/], ['entity', /an entity name in kebab-case/], ['description', /one line of 1-200 characters/], ['kit', /a version range \(\^0\.2\.0\), a dist-tag/]] as const) {
    cases.push(
      [`--${flag} ""`, [`--${flag}`, ''], new RegExp(`^--${flag} needs a value: ${rule.source}`)],
      [`--${flag} with no value, last`, [`--${flag}`], new RegExp(`^--${flag} needs a value: ${rule.source}`)],
      [`--${flag} followed by another flag`, [`--${flag}`, '--dry-run'], new RegExp(`^--${flag} needs a value`)],
      [`--no-${flag}`, [`--no-${flag}`], new RegExp(`^--${flag} needs a value`)],
      [`--${flag} twice`, [`--${flag}`, 'alpha', `--${flag}`, 'beta'], new RegExp(`^--${flag} is given 2 times; give it once: ${rule.source}`)],
    );
  }
  cases.push(
    ['--name of spaces', ['--name', '   '], /^--name must be 1-80 characters \(got 0\)/],
    ['--name with a control character', ['--name', 'Stock\x07ledger'], /^--name must be one line of text without control characters/],
    ['--name very long', ['--name', LONG], /^--name must be 1-80 characters \(got 5000\)/],
    ['--description of spaces', ['--description', '\t '], /^--description must be 1-200 characters \(got 0\)/],
    ['--description on two lines', ['--description', 'One\nTwo'], /^--description must be one line of text without control characters/],
    ['--description very long', ['--description', LONG], /^--description must be 1-200 characters \(got 5000\)/],
    ['--entity with a control character', ['--entity', 'item\x1b'], /^Entity name "item\x1b" must be lowercase kebab-case/],
    ['--entity very long', ['--entity', LONG], /^Entity name "x+" must be 2–40 characters long \(got 5000\)/],
    ['--kit that is no range, tag or path', ['--kit', '^^1 || ;rm -rf'], /^--kit "\^\^1 \|\| ;rm -rf" is none of a version range/],
    ['--kit with a newline', ['--kit', 'next\nlatest'], /^--kit "next\\nlatest" is none of/],
    ['--kit of a tarball that does not exist', ['--kit', './nowhere/create-foundation-module-9.9.9.tgz'], /^--kit ".\/nowhere\/create-foundation-module-9\.9\.9\.tgz": \/.*nowhere.* does not exist/],
    ['--kit file: of a folder that is no kit', ['--kit', `file:${os.tmpdir()}`], /is not a create-foundation-module folder/],
    ['--kit of a file that is no tarball', ['--kit', path.join(REPO_ROOT, 'README.md')], /is a file but no tarball/],
    ['--kit very long', ['--kit', LONG], /^--kit "x+" is none of/],
  );

  it.each(cases)('%s', async (_what, flags, refusal) => {
    const cwd = tempDir();
    await expect(runCreate(['stock-ledger', '--yes', ...flags], { cwd, interactive: false, log: () => {} })).rejects.toThrow(refusal);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it.each([
    ['a range', '^0.2.0', () => '^0.2.0'],
    ['a dist-tag', 'next', () => 'next'],
    ['this checkout, by a relative path', 'REPO', () => `file:${REPO_ROOT}`],
  ])('--kit takes %s, written as the module\'s kit devDependency', async (_what, given, expected) => {
    const cwd = tempDir();
    const spec = given === 'REPO' ? path.relative(cwd, REPO_ROOT) : given;
    expect(await runCreate(['stock-ledger', '--yes', '--kit', spec], { cwd, interactive: false, log: () => {} })).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'stock-ledger', 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['create-foundation-module']).toBe(expected());
  });

  it('an empty id is refused with the id rule, not taken as a missing one', async () => {
    const cwd = tempDir();
    await expect(runCreate(['', '--yes'], { cwd, interactive: false, log: () => {} })).rejects.toThrow(/^Module id "" must be 2–40 characters long \(got 0\)/);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('as a program: a bare --name exits 1 with the rule on stderr, and writes nothing', () => {
    const cwd = tempDir();
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'create-foundation-module.js'), 'stock-ledger', '--yes', '--name'], { cwd, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('create-foundation-module: --name needs a value: a display name of 1-80 characters, e.g. --name "Stock ledger".\n');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe('foundation-module generate refuses hostile flag values', () => {
  let moduleDir: string;
  beforeAll(async () => {
    const cwd = tempDir();
    await runCreate(['stock-ledger', '--yes'], { cwd, interactive: false, log: () => {} });
    moduleDir = path.join(cwd, 'stock-ledger');
  });

  const cases: [what: string, argv: string[], refusal: RegExp][] = [
    ['page --permission ""', ['page', 'stats', '--permission', ''], /^--permission needs a value: a permission <resource>\.<action>/],
    ['page --permission with no value', ['page', 'stats', '--permission'], /^--permission needs a value/],
    ['page --permission followed by another flag', ['page', 'stats', '--permission', '--dry-run'], /^--permission needs a value/],
    ['page --permission twice', ['page', 'stats', '--permission', 'stats.view', '--permission', 'stats.edit'], /^--permission is given 2 times; give it once/],
    ['page --permission with a control character', ['page', 'stats', '--permission', 'stats.view\x01'], /^Permission "stats\.view\x01" must be <resource>\.<action>/],
    ['page --permission very long', ['page', 'stats', '--permission', `stats.${LONG}`], /^Permission "stats\.x+" must be at most 120 characters long/],
    ['--cwd ""', ['entity', 'supplier', '--cwd', ''], /^--cwd needs a value: the module folder/],
    ['--cwd with no value', ['entity', 'supplier', '--cwd'], /^--cwd needs a value/],
    ['--cwd twice', ['entity', 'supplier', '--cwd', '.', '--cwd', '.'], /^--cwd is given 2 times; give it once/],
    ['--cwd with a control character', ['entity', 'supplier', '--cwd', '.\x01'], /^--cwd must be a folder path without control characters/],
    ['--cwd very long', ['entity', 'supplier', '--cwd', LONG], /is not a module \(no plugin\/index\.ts\)/],
    ['migration --sql ""', ['migration', 'add-sku', '--sql', ''], /^--sql needs a value: the SQL statements, or - to read them from stdin/],
    ['migration --sql with no value', ['migration', 'add-sku', '--sql'], /^--sql needs a value/],
    ['migration --sql of blanks', ['migration', 'add-sku', '--sql', ' \n\t'], /^--sql is empty: give the SQL statements/],
    ['migration --sql twice', ['migration', 'add-sku', '--sql', 'SELECT 1;', '--sql', 'SELECT 2;'], /^--sql is given 2 times; give it once/],
    ['migration --sql with a control character', ['migration', 'add-sku', '--sql', 'SELECT 1;\x00'], /^--sql must be SQL text: it holds the control character U\+0000/],
    ['migration --down-sql ""', ['migration', 'add-sku', '--down-sql', ''], /^--down-sql needs a value: the SQL that undoes the migration/],
    ['migration --down-sql with no value', ['migration', 'add-sku', '--down-sql'], /^--down-sql needs a value/],
    ['migration --down-sql of blanks', ['migration', 'add-sku', '--down-sql', '  '], /^--down-sql is empty: give the SQL that undoes the migration/],
    ['migration --down-sql twice', ['migration', 'add-sku', '--down-sql', 'SELECT 1;', '--down-sql', 'SELECT 2;'], /^--down-sql is given 2 times/],
    ['migration --down-sql with a control character', ['migration', 'add-sku', '--down-sql', 'DROP\x1bTABLE x;'], /^--down-sql must be SQL text: it holds the control character U\+001B/],
    ['migration --sql - and --down-sql -', ['migration', 'add-sku', '--sql', '-', '--down-sql', '-'], /^Only one of --sql and --down-sql can read stdin/],
    ['migration --sql - with nothing on stdin', ['migration', 'add-sku', '--sql', '-'], /^--sql - read nothing from stdin/],
    ['--public on an entity', ['entity', 'supplier', '--public'], /^--public is an option of `generate migration` only/],
    ['--sql on a page', ['page', 'stats', '--sql', 'SELECT 1;'], /^--sql is an option of `generate migration` only/],
    ['a misspelt --dry-run', ['entity', 'supplier', '--dryrun'], /^Unknown option --dryrun/],
    ['an empty name', ['entity', ''], /^Missing the name/],
  ];

  it.each(cases)('%s', async (_what, argv, refusal) => {
    const before = snapshot(moduleDir);
    const run = runGenerate(argv, { cwd: moduleDir, log: () => {}, readStdin: async () => '' });
    await expect(run).rejects.toThrow(refusal);
    expect(snapshot(moduleDir)).toEqual(before);
  });

  it('as a program: a bare --permission is a usage error (exit 2) with the rule on stderr, and writes nothing', () => {
    const before = snapshot(moduleDir);
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'foundation-module.js'), 'generate', 'page', 'stats', '--permission'], { cwd: moduleDir, encoding: 'utf8' });
    expect(run.status, 'a usage error exits 2').toBe(2);
    expect(run.stderr).toBe('foundation-module: --permission needs a value: a permission <resource>.<action>, e.g. --permission reports.export.\n');
    expect(snapshot(moduleDir)).toEqual(before);
  });
});
