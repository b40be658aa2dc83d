// Kit-owned (create-foundation-module): a module's vitest.config.ts calls this; pass your own
// options as the second argument rather than editing this file. Plain JavaScript, because
// Vitest loads config files with Node itself, before any TypeScript loader exists.
/**
 * The test setup every module shares: one embedded PostgreSQL per run (plus TEST_DATABASE_URL
 * when set) through the kit's global setup, the `@client/*` alias of the module's tsconfig, and
 * React for page tests (which pick happy-dom with a `// @vitest-environment happy-dom` line).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, mergeConfig } from 'vitest/config';

const kitRoot = fileURLToPath(new URL('..', import.meta.url));
const kitPackage = JSON.parse(fs.readFileSync(path.join(kitRoot, 'package.json'), 'utf8'));
// The published kit is built JavaScript (dist/); the kit's own checkout (its examples) runs the
// TypeScript sources, which its package.json names under the "foundation-kit-source" condition.
const fromSource = fs.existsSync(path.join(kitRoot, 'testing', 'global-setup.ts'));
const globalSetup = path.join(kitRoot, fromSource ? 'testing/global-setup.ts' : 'dist/testing/global-setup.js');
const sourceAliases = fromSource ? Object.entries(kitPackage.exports).flatMap(([subpath, targets]) => {
  const source = typeof targets === 'object' ? targets['foundation-kit-source'] : undefined;
  if (!source) return [];
  const specifier = path.posix.join(kitPackage.name, subpath);
  return [{ find: new RegExp(`^${specifier.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}$`), replacement: path.join(kitRoot, source) }];
}) : [];

/**
 * @param {string} moduleUrl `import.meta.url` of the module's vitest.config.ts: the module root.
 * @param {import('vitest/config').ViteUserConfig} [overrides] Vitest options merged over the kit's.
 * @returns {import('vitest/config').ViteUserConfig}
 */
export function defineModuleTestConfig(moduleUrl, overrides = {}) {
  const root = path.dirname(fileURLToPath(moduleUrl));
  const base = defineConfig({
    root,
    plugins: [react()],
    resolve: { alias: [...sourceAliases, { find: /^@client\//, replacement: `${path.join(root, 'client', 'src')}/` }] },
    test: {
      include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
      globalSetup: [globalSetup],
      // Through Vitest, not Node: the kit imports the module's TypeScript (its plugin code), which
      // Vitest's transform can load and Node cannot; and from its sources the kit is TypeScript itself.
      server: { deps: { inline: ['create-foundation-module'] } },
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  });
  return mergeConfig(base, overrides);
}
