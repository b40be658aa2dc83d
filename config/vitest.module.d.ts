import type { ViteUserConfig } from 'vitest/config';

/** See vitest.module.js. */
export declare function defineModuleTestConfig(moduleUrl: string, overrides?: ViteUserConfig): ViteUserConfig;
