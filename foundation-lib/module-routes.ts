// Kit-owned (create-foundation-module): written by `foundation-module vendor`, rewritten by the next one.
/**
 * This module's routes as the foundation's route registry mounts them: the default export is an
 * Express Router, built once by calling the plugin's `register(ctx)` with the contract's context
 * made from this foundation's bindings (src/lib/foundation-module/bindings.ts). The registry
 * mounts it at `/api/plugins/<id>`; `permissions` is every permission the module checks.
 */
import { fileURLToPath } from 'node:url';
import * as pluginModule from '../../plugin/index.ts';
import bindings from '../../../../lib/foundation-module/bindings.ts';
import { createPluginRouter } from '../../../../lib/foundation-module/plugin-router.ts';

export const permissions: string[] = pluginModule.permissions;
// Its migrations, vendored beside its code: cron runs only in tenants where all of them ran.
export default await createPluginRouter(pluginModule, bindings, { migrationsDir: fileURLToPath(new URL('../../migrations/', import.meta.url)) });
