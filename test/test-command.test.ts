/**
 * `foundation-module test`, a module's `npm test`: the type check and Vitest side by side, run as
 * a program in a small module whose packages resolve from the kit's checkout (typescript, vitest).
 * What the author sees: Vitest's report, then the type check's verdict with tsc's errors, and an
 * exit code that fails when either fails.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/examples.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const SCRATCH = path.join(REPO_ROOT, '.tmp', 'test-command');
fs.mkdirSync(SCRATCH, { recursive: true });
afterAll(() => fs.rmSync(SCRATCH, { recursive: true, force: true }));

const PASSING_TEST = "import { expect, it } from 'vitest';\nimport { double } from '../src/double.ts';\nit('doubles', () => { expect(double(2)).toBe(4); });\n";

function moduleWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(SCRATCH, 'module-'));
  const all: Record<string, string> = {
    'package.json': '{ "name": "a-module", "private": true, "type": "module" }\n',
    'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'preserve', moduleResolution: 'bundler', target: 'es2022', allowImportingTsExtensions: true, types: [] }, include: ['src', 'test'] }),
    'vitest.config.js': "export default { test: { include: ['test/**/*.test.ts'] } };\n",
    'src/double.ts': 'export const double = (n: number): number => n * 2;\n',
    'test/double.test.ts': PASSING_TEST,
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function test(dir: string, ...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'));
  const run = spawnSync(process.execPath, [BIN, 'test', ...args], { cwd: dir, encoding: 'utf8', env: { ...env, NO_COLOR: '1' }, timeout: 120_000 });
  // eslint-disable-next-line no-control-regex
  return { code: run.status, output: `${run.stdout}${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '') };
}

describe('foundation-module test', () => {
  it('passes when the types check and the tests pass, showing both', () => {
    const { code, output } = test(moduleWith({}));
    expect(code, output).toBe(0);
    expect(output).toMatch(/Tests\s+1 passed/);
    expect(output).toMatch(/Type check\s+passed/);
  });

  it('fails on a type error in a file no test imports, naming the file and line, though the tests pass', () => {
    const { code, output } = test(moduleWith({ 'src/unused.ts': "export const n: number = 'not a number';\n" }));
    expect(code).toBe(1);
    expect(output).toMatch(/Tests\s+1 passed/);
    expect(output).toMatch(/Type check\s+failed/);
    expect(output).toMatch(/src\/unused\.ts\(1,14\): error TS2322/);
  });

  it('fails on a failing test, though the types check', () => {
    const { code, output } = test(moduleWith({ 'test/double.test.ts': PASSING_TEST.replace('toBe(4)', 'toBe(5)') }));
    expect(code).toBe(1);
    expect(output).toMatch(/Tests\s+1 failed/);
    expect(output).toMatch(/Type check\s+passed/);
  });

  it('runs the tests only with --no-typecheck', () => {
    const { code, output } = test(moduleWith({ 'src/unused.ts': "export const n: number = 'x';\n" }), '--no-typecheck');
    expect(code, output).toBe(0);
    expect(output).not.toMatch(/Type check/);
  });

  it('hands its other arguments to Vitest as they are, through no shell', () => {
    const dir = moduleWith({ 'test/other.test.ts': "import { it } from 'vitest';\nit('fails', () => { throw new Error('ran'); });\n" });
    const filtered = test(dir, 'double', '--reporter=verbose');
    expect(filtered.code, filtered.output).toBe(0);
    expect(filtered.output).toMatch(/✓ .*doubles/);
    expect(filtered.output).not.toMatch(/other\.test/);
    const hostile = test(dir, '; touch pwned #', '$(touch pwned)');
    expect(hostile.code).toBe(1);
    expect(hostile.output).toMatch(/No test files found/);
    expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  it.each([
    ['a folder with no package.json', { drop: 'package.json', message: /has no package\.json: run foundation-module test in the module's folder/ }],
    ['a module with no tsconfig.json', { drop: 'tsconfig.json', message: /has no tsconfig\.json to type-check with: .*--no-typecheck/ }],
  ])('refuses %s in one line, running nothing', (_what, { drop, message }) => {
    const dir = moduleWith({});
    fs.rmSync(path.join(dir, drop));
    const { code, output } = test(dir);
    expect(code).toBe(1);
    expect(output).toMatch(message);
    expect(output).not.toMatch(/\n\s+at /);
    expect(output).not.toMatch(/RUN/);
  });
});
