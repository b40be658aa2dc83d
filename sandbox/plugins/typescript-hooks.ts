/**
 * Node module hooks that load a module's TypeScript (plugin code, module.config.ts) in the
 * processes that run it: the dev API and the catalog printer. Types are stripped and JSX
 * compiled by Sucrase, which the kit's build bundles in, so that the kit loads a module's code
 * with nothing else installed (a foundation that runs `npx -p create-foundation-module … vendor`
 * has no Vite). In the published kit its own code is built JavaScript and never passes through
 * here; in the checkout these hooks compile the kit's TypeScript too. Registered by
 * typescript-register.ts.
 *
 * What module code may rely on, as under tsx: `.ts`/`.tsx` files are ES modules whatever the
 * package's `type`; a relative import may name the file as `.ts`, as `.js`, or leave the
 * extension out (then `.ts`, `.tsx` and `index.ts` are tried). For the catalog printer only,
 * packages that are not installed are stubbed (missing-package-stubs.ts).
 */
import { readFile } from 'node:fs/promises';
import type { LoadHook, ResolveHook } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transform } from 'sucrase';
import { recordImports, stubUrl } from './missing-package-stubs.ts';

const stubMissingPackages = process.env.FOUNDATION_STUB_MISSING_PACKAGES === '1';

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
  let result: ReturnType<typeof transform>;
  try {
    result = transform(await readFile(file, 'utf8'), {
      // `<T>value` casts are TypeScript in a .ts file and JSX in a .tsx one.
      transforms: file.endsWith('.tsx') ? ['typescript', 'jsx'] : ['typescript'],
      jsxRuntime: 'automatic',
      production: true,
      // Node runs today's JavaScript as it is: only the types go.
      disableESTransforms: true,
      filePath: file,
      sourceMapOptions: { compiledFilename: file },
    });
  } catch (error) {
    // "Error transforming <file>: Unexpected token (2:14)" becomes "<file>:2:14: Unexpected token", as editors link it.
    const { message, loc } = error as Error & { loc?: { line: number; column: number } };
    const what = message.replace(`Error transforming ${file}: `, '').replace(/ \(\d+:\d+\)$/, '');
    throw new SyntaxError(loc ? `${file}:${loc.line}:${loc.column}: ${what}` : `${file}: ${what}`);
  }
  if (stubMissingPackages) recordImports(url, result.code);
  // Inline, so that stack traces (with --enable-source-maps) point into the author's file.
  const map = result.sourceMap ? `\n${SOURCE_MAP_COMMENT}${Buffer.from(JSON.stringify({ ...result.sourceMap, sources: [url] })).toString('base64')}` : '';
  return { format: 'module', source: result.code + map, shortCircuit: true };
};
