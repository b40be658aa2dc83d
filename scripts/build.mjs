// Bundles for the published package (run by `npm pack`/`npm publish` through prepack), each with
// its dependencies inside, so that installing the kit installs one package and nothing else:
//   dist/create.js, dist/generate.js  the generators (node-plop, Handlebars, inquirer…), for `npm create`
//   dist/operator.js                  migrate, tenants, plugins (pg, the SQL splitter, the progress bar),
//   dist/print-catalog.js             loads a module (with the tsx of the foundation) to print its permissions,
//                                     for `npx -p create-foundation-module foundation-module …` in a foundation
import { build } from 'esbuild';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { create: 'generators/main-create.ts', generate: 'generators/generate.ts', operator: 'cli/operator.ts', 'print-catalog': 'sandbox/plugins/print-catalog.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  splitting: true,
  minify: true,
  legalComments: 'linked',
  // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
  // They also read __dirname and __filename (libpg-query's WebAssembly loader finds its .wasm by them).
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; const require = __cr(import.meta.url); " +
      "const __filename = __fu(import.meta.url); const __dirname = __fu(new URL('.', import.meta.url));",
  },
  // inquirer's editor prompt (unused) would pull in iconv-lite: half of the bundle.
  alias: { '@inquirer/external-editor': './scripts/stubs/external-editor.js' },
  // pg loads its optional native binding only when asked to (pg.native): never here.
  external: ['pg-native'],
  logLevel: 'warning',
});
// PostgreSQL's parser (libpg-query) is WebAssembly that its loader reads from beside the script
// that runs it: in the bundle, beside the operator commands.
const libpgQuery = createRequire(import.meta.url).resolve('libpg-query/wasm/libpg-query.wasm');
copyFileSync(libpgQuery, new URL('../dist/libpg-query.wasm', import.meta.url));
