import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['testing/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CI reads the JSON report to prove the real-PostgreSQL tests ran (see .ci/run).
    reporters: process.env.CI === 'true' ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
  },
});
