import { defineConfig } from 'vitest/config';
import { foundationModules } from './client/vite-plugin-modules.ts';
import { exampleModuleDirs } from './client/vite.config.ts';

export default defineConfig({
  test: {
    projects: [
      {
        // The shell tests (test/shell-*.test.tsx) render client/src, which imports this virtual
        // module: here, as with a bare `npm run dev`, the example modules' manifests.
        plugins: [foundationModules(exampleModuleDirs())],
        test: {
          name: 'kit',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          globalSetup: ['testing/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // Each example module runs its own generated tests with its own vitest.config.ts, as it
      // would after `npm create`: this is where the generated tests are proven on both servers.
      'examples/*',
    ],
    // CI reads the JSON report to prove the real-PostgreSQL tests ran (see .ci/run).
    reporters: process.env.CI === 'true' ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
  },
});
