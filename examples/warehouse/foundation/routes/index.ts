// Kit-owned (create-foundation-module): the module's adapter to a foundation. `foundation-module
// vendor` places it as src/modules/<id>/server/routes/index.ts, its kit imports pointing at the
// foundation's copy of the kit library, and writes it again at the next vendoring unless the
// foundation's maintainer changed it there.
/**
 * This module's routes as the foundation's route registry mounts them: the default export is an
 * Express Router, built once by calling the plugin's `register(ctx)` with the contract's context
 * made from the foundation's bindings (src/lib/foundation-module/bindings.ts). The registry
 * mounts it at `/api/plugins/<id>`; `permissions` is every permission the module checks.
 */
import { fileURLToPath } from 'node:url';
import bindings from 'create-foundation-module/foundation/bindings';
import { createPluginRouter } from 'create-foundation-module/foundation';
import * as pluginModule from '../../plugin/index.ts';

export const permissions: string[] = pluginModule.permissions;
// Its migrations, vendored beside its code: cron runs only in tenants where all of them ran.
export default await createPluginRouter(pluginModule, bindings, { migrationsDir: fileURLToPath(new URL('../../migrations/', import.meta.url)) });
