// Builds the published package (run by `npm pack`/`npm publish` through prepack). The checkout
// runs its TypeScript as is; the package ships only what this writes, so nothing under
// node_modules/create-foundation-module is compiled at run time:
//   dist/create.js, dist/generate.js   the generators, every dependency inside, for `npm create`
//   dist/<entry>.js                    the kit's entries at their source paths (KIT_ENTRIES), with
//                                      the packages they need bundled in, except KIT_EXTERNALS;
//                                      code the entries share goes to dist/chunks/
//   dist/<entry>.d.ts (and the files they import)  the types of every entry, by tsc
//   dist/chunks/libpg-query.wasm      PostgreSQL's parser, beside the chunk that loads it
//   dist/shell/                        the dev shell (index.html, its JavaScript and CSS), for Vite
//   template/vendored/                 the TypeScript files `vendor` copies into a foundation
// sandbox/kit-files.ts is how the running code finds each of these.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (...parts) => path.join(root, ...parts);
const pkg = JSON.parse(fs.readFileSync(at('package.json'), 'utf8'));

/** Entries that run or are imported from outside the kit (package exports, processes the kit starts). */
const KIT_ENTRIES = [
  'cli/index', // bin/foundation-module.js
  'cli/dev/api-supervisor', // the [api] process of dev
  'sandbox/server', // the API that the supervisor forks
  'client/serve', // the [shell] process of dev
  'sandbox/plugins/print-catalog', // loads a module in a process of its own
  'sandbox/plugins/typescript-register', // --import of the processes that load a module's TypeScript
  'sandbox/plugins/typescript-hooks', // registered by it
  'sandbox/contract', // "."
  'client/contract', // "./client"
  'testing/index', // "./testing"
  'testing/global-setup', // "./testing/global-setup"
];

/**
 * Packages the kit's entries import but the bundle must not hold: the kit's own `dependencies`,
 * `optionalDependencies` and `peerDependencies` (docs/packaging.md says which is which and why).
 * Native files (the PostgreSQL binaries, Vite's rolldown), one copy shared with the module's code
 * (React, drizzle-orm, Vitest, Vite), or a driver another package loads by name (pg, for drizzle-orm).
 */
const KIT_EXTERNALS = ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((field) => Object.keys(pkg[field] ?? {}));

fs.rmSync(at('dist'), { recursive: true, force: true });
fs.rmSync(at('template', 'vendored'), { recursive: true, force: true });

// CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
// They also read __dirname and __filename (libpg-query's WebAssembly loader finds its .wasm by them).
const nodeBanner = {
  js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; const require = __cr(import.meta.url); " +
    "const __filename = __fu(import.meta.url); const __dirname = __fu(new URL('.', import.meta.url));",
};

/** What the two Node builds share: ES modules for Node 20 in dist/, code shared by entries in chunks. */
const nodeBuild = {
  outdir: at('dist'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  splitting: true,
  banner: nodeBanner,
  legalComments: 'linked',
  logLevel: 'warning',
};

// The generators: self-contained, so that `npm create` runs before any dependency is resolved.
await build({
  ...nodeBuild,
  entryPoints: { create: at('generators/main-create.ts'), generate: at('generators/generate.ts') },
  chunkNames: 'chunks/generators-[hash]',
  minify: true,
  // inquirer's editor prompt (unused) would pull in iconv-lite: half of the bundle.
  alias: { '@inquirer/external-editor': at('scripts/stubs/external-editor.js') },
});

await build({
  ...nodeBuild,
  entryPoints: Object.fromEntries(KIT_ENTRIES.map((entry) => [entry, at(`${entry}.ts`)])),
  chunkNames: 'chunks/[name]-[hash]',
  external: [...KIT_EXTERNALS, 'pg-native'],
  // Readable stack traces in a module author's terminal matter more than the bytes.
  minifySyntax: true,
});

// PostgreSQL's parser (libpg-query, loaded by sandbox/migrations/sql-statements.ts) is WebAssembly
// that its loader reads from beside the script that runs it: the chunk esbuild made of it.
fs.copyFileSync(createRequire(import.meta.url).resolve('libpg-query/wasm/libpg-query.wasm'), at('dist/chunks/libpg-query.wasm'));

// The shell: the browser build of client/src. React stays a bare import (Vite gives the shell and
// the module pages one copy); the router is the shell's alone and comes inside.
await build({
  entryPoints: { main: at('client/src/main.tsx') },
  outdir: at('dist/shell'),
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  jsx: 'automatic',
  external: ['react', 'react-dom', 'react/*', 'react-dom/*', 'virtual:foundation-modules'],
  minifySyntax: true,
  logLevel: 'warning',
});
// esbuild lifts the shell's CSS imports into main.css: the page links it.
const html = fs.readFileSync(at('client/index.html'), 'utf8').replace('/src/main.tsx', '/main.js');
fs.writeFileSync(at('dist/shell/index.html'), html.replace('</head>', '  <link rel="stylesheet" href="/main.css" />\n  </head>'));

// Types: one declaration file per source file the entries reach, beside the entry's JavaScript.
execFileSync(process.execPath, [at('node_modules/typescript/bin/tsc'), '-p', at('tsconfig.build.json')], { stdio: 'inherit', cwd: root });
// What the types take from Express (Request, Router, the app) is declared in its core types
// package: naming that one spares a module the six type packages of the rest of Express.
for (const file of fs.readdirSync(at('dist'), { recursive: true }).map(String).filter((name) => name.endsWith('.d.ts'))) {
  const text = fs.readFileSync(at('dist', file), 'utf8');
  const rewritten = text
    .replace(/^import (?:type )?express, \{([^}]*)\} from 'express';$/m, (_, names) => `import type * as express from 'express-serve-static-core';\nimport {${names}} from 'express-serve-static-core';`)
    .replace(/^import type express from 'express';$/m, "import type * as express from 'express-serve-static-core';")
    .replace(/^(import (?:type )?\{[^}]*\} from )'express';$/gm, "$1'express-serve-static-core';");
  if (/from 'express'/.test(rewritten)) throw new Error(`build: dist/${file} imports from 'express' in a way the rewrite does not know; extend it.`);
  if (rewritten !== text) fs.writeFileSync(at('dist', file), rewritten);
}

// What `vendor` places in a foundation: TypeScript that the foundation compiles, shipped as templates.
for (const dir of ['contract', 'foundation-lib']) copyTree(at(dir), at('template', 'vendored', dir));
fs.mkdirSync(at('template/vendored/client'), { recursive: true });
fs.copyFileSync(at('client/contract.ts'), at('template/vendored/client/contract.ts'));

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyTree(path.join(from, entry.name), path.join(to, entry.name));
    else fs.copyFileSync(path.join(from, entry.name), path.join(to, entry.name));
  }
}
