// Bundles for the published package (run by `npm pack`/`npm publish` through prepack), each with
// its dependencies inside, so that installing the kit installs one package and nothing else:
//   dist/create.js, dist/generate.js  the generators (node-plop, Handlebars, inquirer…), for `npm create`
//   dist/operator.js                  migrate, tenants, plugins (pg, the SQL splitter, the progress bar),
//   dist/print-catalog.js             loads a module (with the tsx of the foundation) to print its permissions,
//                                     for `npx -p create-foundation-module foundation-module …` in a foundation
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

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
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  // inquirer's editor prompt (unused) would pull in iconv-lite: half of the bundle.
  alias: { '@inquirer/external-editor': './scripts/stubs/external-editor.js' },
  // pg loads its optional native binding only when asked to (pg.native): never here.
  external: ['pg-native'],
  logLevel: 'warning',
});
