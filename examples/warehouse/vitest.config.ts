// The kit's test settings (embedded PostgreSQL, @client alias, page tests in happy-dom) come from
// create-foundation-module/vitest; pass your own Vitest options as the second argument.
import { defineModuleTestConfig } from 'create-foundation-module/vitest';

export default defineModuleTestConfig(import.meta.url);
