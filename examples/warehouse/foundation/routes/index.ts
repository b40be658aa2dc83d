// Kit-owned (create-foundation-module): rewritten by kit updates. Put your code in plugin/ instead.
/**
 * The adapter the foundation mounts: an Express Router holding this module's routes, built by
 * calling the plugin's `register(ctx)` with the foundation's own capabilities.
 *
 *   app.use(`/api/plugins/${plugin.meta.id}`, await createRoutes(foundationContextFor(plugin.meta)));
 */
import { Router } from 'express';
import type { PluginContext } from 'create-foundation-module/contract';
import plugin from '../../plugin/index.ts';

export { default as plugin, permissions } from '../../plugin/index.ts';

export default async function createRoutes(ctx: Omit<PluginContext, 'router'>): Promise<Router> {
  const router = Router();
  await plugin.register({ ...ctx, router });
  return router;
}
