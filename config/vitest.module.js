// Kit-owned (create-foundation-module): a module's vitest.config.ts calls this; pass your own
// options as the second argument rather than editing this file. Plain JavaScript, because
// Vitest loads config files with Node itself, before any TypeScript loader exists.
/**
 * The test setup every module shares: one embedded PostgreSQL per run (plus TEST_DATABASE_URL
 * when set) through the kit's global setup, the `@client/*` alias of the module's tsconfig, and
 * React for page tests (which pick happy-dom with a `// @vitest-environment happy-dom` line).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, mergeConfig } from 'vitest/config';

const globalSetup = fileURLToPath(new URL('../testing/global-setup.ts', import.meta.url));

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
    resolve: { alias: [{ find: /^@client\//, replacement: `${path.join(root, 'client', 'src')}/` }] },
    test: {
      include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
      globalSetup: [globalSetup],
      // The kit is TypeScript: let Vitest transform it instead of handing it to Node.
      server: { deps: { inline: ['create-foundation-module'] } },
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  });
  return mergeConfig(base, overrides);
}
