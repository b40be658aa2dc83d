/**
 * Node module hooks that load a module's TypeScript (plugin code, module.config.ts) in the
 * processes that run it: the dev API and the catalog printer. Types are stripped and JSX
 * compiled by Oxc, through rolldown, which Vite already installs (taken from where Vite has it,
 * so that one copy, at Vite's version, is installed). In the published kit its own code is built
 * JavaScript and never passes through here; in the checkout these hooks compile the kit's
 * TypeScript too. Registered by typescript-register.ts.
 *
 * What module code may rely on, as under tsx: `.ts`/`.tsx` files are ES modules whatever the
 * package's `type`; a relative import may name the file as `.ts`, as `.js`, or leave the
 * extension out (then `.ts`, `.tsx` and `index.ts` are tried). For the catalog printer only,
 * packages that are not installed are stubbed (missing-package-stubs.ts).
 */
import { readFile } from 'node:fs/promises';
import { createRequire, type LoadHook, type ResolveHook } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { recordImports, stubUrl } from './missing-package-stubs.ts';

const fromVite = createRequire(createRequire(import.meta.url).resolve('vite'));
const { transformSync } = (await import(pathToFileURL(fromVite.resolve('rolldown/experimental')).href)) as typeof import('rolldown/experimental');
const stubMissingPackages = process.env.FOUNDATION_STUB_MISSING_PACKAGES === '1';
const { parseAst } = stubMissingPackages ? ((await import(pathToFileURL(fromVite.resolve('rolldown/parseAst')).href)) as typeof import('rolldown/parseAst')) : { parseAst: undefined };

const TYPESCRIPT = /\.(ts|tsx|mts)$/;
// In two parts: whole, this file's own text (or its build) would hold a line that tools reading
// source maps (Vitest, Node) take for this file's map.
const SOURCE_MAP_COMMENT = ['//#', 'sourceMappingURL=data:application/json;base64,'].join(' ');
const CANDIDATES = ['.ts', '.tsx', '/index.ts', '/index.tsx'];

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    const code = (error as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT';
    if (!missing || !context.parentURL || !TYPESCRIPT.test(context.parentURL)) throw error;
    const bare = !relative && !specifier.startsWith('/') && !specifier.includes(':');
    if (bare && stubMissingPackages) return { url: stubUrl(context.parentURL, specifier), shortCircuit: true };
    if (!relative) throw error;
    const stem = specifier.replace(/\.js$/, '');
    for (const ending of CANDIDATES) {
      try {
        return await nextResolve(stem + ending, context);
      } catch {
        // the next candidate
      }
    }
    throw error;
  }
};

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(new URL(url).pathname)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const result = transformSync(file, await readFile(file, 'utf8'), {
    lang: file.endsWith('.tsx') ? 'tsx' : 'ts',
    sourcemap: true,
    jsx: { runtime: 'automatic' },
    // The module's tsconfig extends the kit's, which a module without node_modules can't resolve;
    // nothing in it changes how types are removed.
    tsconfig: false,
  });
  if (result.errors.length > 0) {
    throw new SyntaxError(`${file}: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  if (parseAst) recordImports(url, result.code, parseAst);
  // Inline, so that stack traces (with --enable-source-maps) point into the author's file.
  const map = result.map ? `\n${SOURCE_MAP_COMMENT}${Buffer.from(JSON.stringify(result.map)).toString('base64')}` : '';
  return { format: 'module', source: result.code + map, shortCircuit: true };
};
