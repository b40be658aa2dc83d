/**
 * Where the kit's own files are. The kit runs two ways: from its checkout, as TypeScript (tsx,
 * Vitest), and from the published package, as the JavaScript that scripts/build.mjs writes into
 * dist/ (entries at their source paths, shared code in dist/chunks/). Every file that needs a
 * path of the kit asks here, so neither way depends on how deep the running file sits.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(import.meta.url);

/** True in the kit's checkout (TypeScript run as is), false in the built package. */
export const RUNNING_FROM_SOURCE = here.endsWith('.ts');

/** The kit's package root: the nearest folder above this file with the kit's package.json. */
export const KIT_ROOT = findKitRoot(path.dirname(here));

function findKitRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'create-foundation-module') return dir;
    if (path.dirname(dir) === dir) throw new Error(`create-foundation-module: no package.json of the kit above ${from}; the package is incomplete, reinstall it.`);
  }
}

/** `require` resolving from the kit: its own dependencies, wherever npm put them. */
const kitRequire = createRequire(path.join(KIT_ROOT, 'package.json'));

/** The kit's package.json, read once. */
export const KIT_PACKAGE = JSON.parse(fs.readFileSync(path.join(KIT_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  foundationModule: { libraryDependencies: Record<string, string> };
  peerDependencies: Record<string, string>;
};

/**
 * The dev stack the kit runs in a module's `npm run dev` without installing it itself (its
 * optional peers, which a generated module lists as devDependencies): so that `npm create` and a
 * foundation's install bring none of it. The names of those that don't resolve from the kit,
 * with the command that installs them.
 */
export function missingDevStack(names: string[]): { missing: string[]; install: string } {
  const missing = names.filter((name) => {
    try {
      kitRequire.resolve(`${name}/package.json`);
      return false;
    } catch (error) {
      // Installed, but its exports leave package.json out.
      return (error as { code?: string }).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED';
    }
  });
  return { missing, install: `npm install -D ${missing.map((name) => `${name}@${KIT_PACKAGE.peerDependencies[name]}`).join(' ')}` };
}

/**
 * A kit entry to run in a process of its own, by its source path without extension
 * (`sandbox/server`): the `.ts` file in the checkout, its build (`dist/sandbox/server.js`) in the
 * package. Only the entries scripts/build.mjs names exist in dist/.
 */
export function kitEntry(sourcePath: string): string {
  return RUNNING_FROM_SOURCE ? path.join(KIT_ROOT, `${sourcePath}.ts`) : path.join(KIT_ROOT, 'dist', `${sourcePath}.js`);
}

/**
 * A kit TypeScript file that `vendor` copies into a foundation (`foundation-lib/plugin-router.ts`):
 * in the package these ship as templates (template/vendored/), never compiled from node_modules.
 */
export function vendoredSource(sourcePath: string): string {
  return RUNNING_FROM_SOURCE ? path.join(KIT_ROOT, sourcePath) : path.join(KIT_ROOT, 'template', 'vendored', sourcePath);
}

/** The folder Vite serves the shell from: its sources in the checkout, its build in the package. */
export const SHELL_ROOT = RUNNING_FROM_SOURCE ? path.join(KIT_ROOT, 'client') : path.join(KIT_ROOT, 'dist', 'shell');

/**
 * `--import` arguments that let Node import a module's TypeScript (its plugin code,
 * module.config.ts): the kit's own hooks (sandbox/plugins/typescript-register.ts), in the package
 * and in the checkout alike; in the checkout, tsx first, which runs the kit's TypeScript.
 */
export function typescriptLoaderArgs(): string[] {
  const register = ['--import', pathToFileURL(kitEntry('sandbox/plugins/typescript-register')).href];
  return RUNNING_FROM_SOURCE ? ['--import', tsxLoader(), ...register] : register;
}

function tsxLoader(): string {
  return pathToFileURL(kitRequire.resolve('tsx/esm')).href;
}

/** `node` arguments that run a kit entry: its build in the package, its source (through tsx) in the checkout. */
export function nodeArgsFor(entry: string): string[] {
  return RUNNING_FROM_SOURCE ? ['--import', tsxLoader(), kitEntry(entry)] : [kitEntry(entry)];
}
