// Bundles the generators into dist/ for the published package (run by `npm pack`/`npm publish`
// through prepack). The bundles carry node-plop, Handlebars, inquirer and the rest inside, so
// `npm create foundation-module` installs one package and nothing else.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { create: 'generators/main-create.ts', generate: 'generators/generate.ts' },
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
  logLevel: 'warning',
});
