/**
 * The published kit's loader of a module's TypeScript (sandbox/plugins/typescript-hooks.ts), as
 * Node runs it: a real `node --import` of the hooks, importing real files, beside a call of the
 * hooks themselves for what a module's code may do and what it gets when it can't load.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { load, resolve } from '../sandbox/plugins/typescript-hooks.ts';
import { REPO_ROOT } from './helpers/examples.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-ts-hooks-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'module-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const nextLoad = async (url: string) => ({ format: 'builtin' as const, source: undefined, url });
const nextResolve = async (specifier: string, context: { parentURL?: string }) => {
  const url = new URL(specifier, context.parentURL);
  if (!fs.existsSync(url)) throw Object.assign(new Error(`not found: ${url.href}`), { code: 'ERR_MODULE_NOT_FOUND' });
  if (fs.statSync(url).isDirectory()) throw Object.assign(new Error(`a directory: ${url.href}`), { code: 'ERR_UNSUPPORTED_DIR_IMPORT' });
  return { url: url.href, shortCircuit: true };
};
const loadFile = (file: string) => load(pathToFileURL(file).href, { conditions: [], format: undefined, importAttributes: {}, importAssertions: {} }, nextLoad as never);
const resolveFrom = (parent: string, specifier: string) => resolve(specifier, { conditions: [], importAttributes: {}, importAssertions: {}, parentURL: pathToFileURL(parent).href }, nextResolve as never);

describe('the TypeScript hooks of the published kit', () => {
  it('compile types, enums and JSX away into an ES module, whatever the package type', async () => {
    const dir = write({
      'package.json': '{ "type": "commonjs" }',
      'plugin/index.tsx': 'import type { X } from "./x.ts";\nexport enum Level { Low = 1 }\nexport const f = (x: X): number => x + Level.Low;\nexport const el = <b>hi</b>;\n',
    });
    const loaded = await loadFile(path.join(dir, 'plugin/index.tsx'));
    expect(loaded.format).toBe('module');
    expect(String(loaded.source)).toMatch(/export const f = \(x\) => x \+ Level\.Low/);
    expect(String(loaded.source)).toContain('react/jsx-runtime');
    expect(String(loaded.source)).toMatch(/sourceMappingURL=data:application\/json;base64,/);
  });

  it('leave JavaScript and other URLs to Node', async () => {
    const dir = write({ 'a.js': 'export const a = 1;\n' });
    expect(await loadFile(path.join(dir, 'a.js'))).toMatchObject({ format: 'builtin' });
    expect(await load('node:fs', { conditions: [], format: undefined, importAttributes: {}, importAssertions: {} }, nextLoad as never)).toMatchObject({ format: 'builtin' });
  });

  it('name the file and the error when it does not parse', async () => {
    const dir = write({ 'plugin/broken.ts': 'export const = 1;\n' });
    await expect(loadFile(path.join(dir, 'plugin/broken.ts'))).rejects.toThrow(/plugin\/broken\.ts:1:\d+: Unexpected token$/);
  });

  it.each([
    ['the .ts file itself', './util.ts', 'util.ts'],
    ['.js naming the .ts file', './util.js', 'util.ts'],
    ['no extension', './util', 'util.ts'],
    ['a folder with index.ts', './lib', 'lib/index.ts'],
    ['a .tsx page', './page', 'page.tsx'],
  ])('resolve %s from module code', async (_what, specifier, expected) => {
    const dir = write({ 'util.ts': '', 'lib/index.ts': '', 'page.tsx': '', 'main.ts': '' });
    expect((await resolveFrom(path.join(dir, 'main.ts'), specifier)).url).toBe(pathToFileURL(path.join(dir, expected)).href);
  });

  it.each([
    ['a missing file', './missing'],
    ['a path out of the folder that is not there', '../../../../nowhere/at-all'],
  ])('refuse %s with Node\'s own not-found error', async (_what, specifier) => {
    const dir = write({ 'main.ts': '' });
    await expect(resolveFrom(path.join(dir, 'main.ts'), specifier)).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });

  it('let node import a module\'s TypeScript through --import, as the dev API and the catalog printer do', () => {
    const dir = write({
      'package.json': '{}',
      'plugin/index.ts': 'import { twice } from "./util";\nconst n: number = twice(21);\nconsole.log(JSON.stringify({ n }));\n',
      'plugin/util.ts': 'export function twice(n: number): number { return n * 2; }\n',
    });
    // The hooks compiled as scripts/build.mjs compiles them, and registered as typescript-register.ts does: no tsx anywhere.
    const hooks = path.join(REPO_ROOT, 'node_modules', '.fm-test', `typescript-hooks-${process.pid}.mjs`);
    fs.mkdirSync(path.dirname(hooks), { recursive: true });
    buildSync({ entryPoints: [path.join(REPO_ROOT, 'sandbox/plugins/typescript-hooks.ts')], outfile: hooks, bundle: true, packages: 'external', format: 'esm', platform: 'node', logLevel: 'silent' });
    const register = path.join(tmp, 'register.mjs');
    fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const run = spawnSync(process.execPath, ['--import', register, path.join(dir, 'plugin/index.ts')], { cwd: dir, encoding: 'utf8' });
    fs.rmSync(hooks);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ n: 42 });
  });
});

describe('stand-ins for packages a module lacks (the catalog printer only)', () => {
  it('export each name the module imports, and evaluate whatever the module does with them', async () => {
    const { recordImports, stubUrl } = await import('../sandbox/plugins/missing-package-stubs.ts');
    const parent = 'file:///module/plugin/items.ts';
    recordImports(parent, 'import { z } from "zod";\nimport pg, { Pool as P } from "pg";\nexport { sql } from "drizzle-orm";\n');
    const zod = await import(stubUrl(parent, 'zod'));
    const schema = zod.z.object({ name: zod.z.string().min(1) }).strict();
    expect(typeof schema).toBe('function');
    expect([...zod.z.array()]).toEqual([]);
    expect(`${zod.z}`).toBe('');
    expect(JSON.stringify({ schema })).toBe('{}');
    const pgStub = await import(stubUrl(parent, 'pg'));
    expect(Object.keys(pgStub).sort()).toEqual(['Pool', 'default']);
    expect(new pgStub.Pool()).toBeDefined();
    expect(Object.keys(await import(stubUrl(parent, 'drizzle-orm'))).sort()).toEqual(['default', 'sql']);
    // A package name with quotes or a newline stays a string in the stand-in's source.
    await expect(import(stubUrl(parent, 'evil"\n);process.exit(1);//'))).resolves.toBeDefined();
  });
});
