/**
 * Vite plugin behind `virtual:foundation-modules`: the default export is the list of client
 * manifests of the loaded modules, in the order of the module directories given.
 *
 * Manifests are imported eagerly (they are small); the pages they name stay lazy, so each page
 * still becomes its own chunk.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { normalizePath, type Plugin } from 'vite';

export const VIRTUAL_MODULES_ID = 'virtual:foundation-modules';
// The \0 prefix keeps other plugins (and the file system) away from the generated module.
const RESOLVED_ID = `\0${VIRTUAL_MODULES_ID}`;

/** Where a module keeps its client manifest, relative to the module directory. */
export const MANIFEST_FILE = path.join('client', 'manifest.ts');

/**
 * Throws unless `dir` is an absolute path free of control characters. The path ends up in
 * generated code and in error messages, so anything odd is refused rather than escaped twice.
 */
export function assertModuleDir(dir: unknown): asserts dir is string {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new Error(`Module directory must be a non-empty string, got ${JSON.stringify(dir)}.`);
  }
  if (/[\x00-\x1f\x7f]/.test(dir)) {
    throw new Error(`Module directory ${JSON.stringify(dir)} contains control characters.`);
  }
  if (!path.isAbsolute(dir)) {
    throw new Error(`Module directory must be an absolute path, got ${JSON.stringify(dir)}.`);
  }
}

/** The manifest path of `dir`, or an error naming `dir` when it has none. */
export function manifestOf(dir: string): string {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) {
    throw new Error(
      `Module directory ${dir} has no ${normalizePath(MANIFEST_FILE)}: ` +
        'every module loaded into the shell needs one (default export: its ModuleManifest).',
    );
  }
  return file;
}

/** Source of the virtual module. Paths go through JSON.stringify, never raw into the code. */
export function modulesSource(moduleDirs: readonly string[]): string {
  const files = moduleDirs.map(manifestOf);
  const imports = files.map((file, i) => `import m${i} from ${JSON.stringify(normalizePath(file))};`);
  const list = files.map((_, i) => `m${i}`).join(', ');
  return `${imports.join('\n')}\nexport default [${list}];\n`;
}

/** @param moduleDirs absolute module directories, each holding `client/manifest.ts` */
export function foundationModules(moduleDirs: readonly string[]): Plugin {
  moduleDirs.forEach(assertModuleDir);
  const dirs = [...moduleDirs];

  return {
    name: 'foundation-modules',

    // Checked at start as well as on load, so `npm run dev` fails at once, naming the directory,
    // instead of when the browser first asks for the module list.
    buildStart() {
      dirs.forEach(manifestOf);
    },

    resolveId: {
      filter: { id: /^virtual:foundation-modules$/ },
      handler(id) {
        return id === VIRTUAL_MODULES_ID ? RESOLVED_ID : undefined;
      },
    },

    load: {
      filter: { id: /^\0virtual:foundation-modules$/ },
      handler(id) {
        return id === RESOLVED_ID ? modulesSource(dirs) : undefined;
      },
    },
  };
}

/**
 * `@client/…` in a module's code means that module's `client/src/…` (its tsconfig says so). Each
 * module has its own, so the prefix is resolved from the importing file's module, not by one
 * global alias.
 */
export function moduleClientAlias(moduleDirs: readonly string[]): Plugin {
  moduleDirs.forEach(assertModuleDir);
  const roots = [...moduleDirs].map((dir) => normalizePath(dir)).sort((a, b) => b.length - a.length);
  return {
    name: 'foundation-module-client-alias',
    enforce: 'pre',
    resolveId: {
      filter: { id: /^@client\// },
      async handler(id, importer, options) {
        const from = importer ? normalizePath(importer) : '';
        const root = roots.find((dir) => from.startsWith(`${dir}/`));
        if (!root) {
          this.error(`${id} is imported by ${importer ?? 'an unknown file'}, which is in none of the loaded modules; \`@client/\` only works inside a module.`);
        }
        return this.resolve(`${root}/client/src/${id.slice('@client/'.length)}`, importer, { ...options, skipSelf: true });
      },
    },
  };
}
