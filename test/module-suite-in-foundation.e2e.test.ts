/**
 * One suite, two runtimes: the examples' and a freshly generated module's own API test files,
 * unchanged, run against the reference foundation with the modules vendored into it
 * (FOUNDATION_ROOT), through the foundation's test bindings: tenants, users, grants and tokens are
 * the foundation's, migrations go through the kit's runner on the foundation's tenant table, and
 * the tenant leak check runs there too. The same files run on the sandbox in the examples' own
 * vitest projects. The foundation here installs its packages itself (npm install after vendoring
 * merged the modules' run-time dependencies) and passes its own type check.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost } from '../testing/index.ts';
import { generateModule } from './helpers/foundation-instance.ts';
import { copyReferenceFoundation, editBindings, REPO_ROOT, vendor } from './helpers/reference-foundation.ts';

const EXAMPLES = ['items', 'warehouse'].map((id) => path.join(REPO_ROOT, 'examples', id));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const VITEST = path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');

/** The module's API tests (`test/*.api.test.ts`) with its own vitest config, as `npm test` runs them there. */
function moduleSuite(moduleDir: string, foundationRoot: string): { status: number | null; output: string; passed: number; failed: number } {
  const files = fs.readdirSync(path.join(moduleDir, 'test')).filter((name) => name.endsWith('.api.test.ts')).map((name) => `test/${name}`);
  const reportFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'module-suite-')), 'report.json');
  const run = spawnSync(process.execPath, [VITEST, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...files], {
    cwd: moduleDir, encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, FOUNDATION_ROOT: foundationRoot, CI: '', VITEST: undefined, VITEST_WORKER_ID: undefined, VITEST_POOL_ID: undefined, NODE_OPTIONS: undefined } as unknown as NodeJS.ProcessEnv,
  });
  const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { numPassedTests: number; numFailedTests: number } : { numPassedTests: 0, numFailedTests: -1 };
  fs.rmSync(path.dirname(reportFile), { recursive: true, force: true });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}`, passed: report.numPassedTests, failed: report.numFailedTests };
}

describe('modules\' own API tests, run unchanged against the reference foundation', () => {
  let root: string;
  let unfilled: string;
  let generated: { dir: string; remove(): void };
  const modules = () => [...EXAMPLES, generated.dir];

  beforeAll(async () => {
    generated = await generateModule();
    root = copyReferenceFoundation({ linkPackages: false });
    for (const dir of modules()) {
      const vendored = await vendor([dir, '--into', root]);
      expect(vendored.code, vendored.lines.join('\n')).toBe(0);
    }
    editBindings(root);
    // The maintainer's install: the foundation's own packages plus what vendoring added (zod).
    const install = spawnSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    // A foundation whose maintainer has not filled in the test bindings yet.
    unfilled = copyReferenceFoundation();
    expect((await vendor([EXAMPLES[0]!, '--into', unfilled])).code).toBe(0);
  });

  afterAll(() => {
    for (const dir of [root, unfilled]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    generated?.remove();
  });

  it('the foundation, with its own packages installed, passes its own type check (npm run typecheck)', () => {
    const added = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies;
    expect(added).toMatchObject({ zod: expect.any(String), 'drizzle-orm': expect.any(String) });
    const typecheck = spawnSync(NPM, ['run', 'typecheck'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(typecheck.status, typecheck.stdout + typecheck.stderr).toBe(0);
  });

  it.each(['items', 'warehouse', 'generated'])('%s: every API test passes on the foundation', (name) => {
    const dir = name === 'generated' ? generated.dir : EXAMPLES.find((d) => path.basename(d) === name)!;
    const suite = moduleSuite(dir, root);
    expect(suite.failed, suite.output).toBe(0);
    expect(suite.status, suite.output).toBe(0);
    expect(suite.passed).toBeGreaterThanOrEqual(4);
  });

  it('really runs there: with the test bindings not filled in, the suite stops naming the file to fill in', () => {
    const suite = moduleSuite(EXAMPLES[0]!, unfilled);
    expect(suite.status).not.toBe(0);
    expect(suite.output).toMatch(/src\/lib\/foundation-module\/test-bindings\.ts: fill in start\(databaseUrl\)/);
  });
});

describe('FOUNDATION_ROOT that can\'t serve the tests', () => {
  const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const made: string[] = [];
  afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  const withoutTestBindings = async () => {
    const root = copyReferenceFoundation();
    made.push(root);
    expect((await vendor([EXAMPLES[0]!, '--into', root])).code).toBe(0);
    fs.rmSync(path.join(root, 'src/lib/foundation-module/test-bindings.ts'));
    return root;
  };
  const notVendored = () => {
    const root = copyReferenceFoundation();
    made.push(root);
    return root;
  };

  it.each([
    ['a folder that does not exist', () => path.join(os.tmpdir(), 'no-such-foundation-here'), /no foundation there/],
    ['a folder that is no foundation', () => fs.mkdtempSync(path.join(os.tmpdir(), 'not-a-foundation-')), /no foundation there/],
    ['a foundation the module is not vendored into', notVendored, /src\/modules\/items is not there\. Vendor the module first/],
    ['a foundation vendored before test bindings existed', withoutTestBindings, /test-bindings\.ts is missing\. Run foundation-module vendor/],
  ])('%s: refused, naming what to do', async (_name, rootOf, message) => {
    const root = await rootOf();
    if (fs.existsSync(root) && !made.includes(root)) made.push(root);
    await expect(startTestHost({ moduleDirs: [EXAMPLES[0]!], serverUrl, foundationRoot: root })).rejects.toThrow(message);
  });
});
