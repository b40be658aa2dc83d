/**
 * A copy of examples/items with routes for the observability tests: one that throws with internals
 * in its message, one whose SQL fails, a slow one, and a route on a nested router (whose pattern
 * must include the router's mount path).
 */
import { moduleVariant } from './examples.ts';

const PROBES = `import { Router } from 'express';
import { sql } from 'drizzle-orm';
import type { PluginContext } from 'create-foundation-module/contract';

export function registerObservabilityProbes(ctx: PluginContext): void {
  const r = ctx.router;
  const read = ctx.rbac.require('items.items.read');

  r.get('/probe/explode', read, async () => {
    throw new Error('secret internals at /srv/app.ts:42');
  });

  r.get('/probe/bad-sql', read, async (req) => {
    const { tenantId } = ctx.auth(req);
    await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`SELECT secret_column FROM no_such_table_xyz\`));
  });

  r.get('/probe/sleep', async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, Number(req.query.ms)));
    res.json({ ok: true });
  });

  const orders = Router({ mergeParams: true });
  orders.get('/lines/:lineId', (req, res) => {
    res.json({ order: (req.params as Record<string, string>).orderId, line: req.params.lineId });
  });
  r.use('/orders/:orderId', orders);
}
`;

/** The module in a temporary folder under the repo (remove it after the test). */
export function observabilityProbeModule(): string {
  return moduleVariant({
    'plugin/observability-probes.ts': PROBES,
    'plugin/index.ts': (old) => old
      .replace("import { itemsPermissions, registerItemsRoutes } from './items.ts';",
        "import { itemsPermissions, registerItemsRoutes } from './items.ts';\nimport { registerObservabilityProbes } from './observability-probes.ts';")
      .replace('registerItemsRoutes(ctx);', 'registerItemsRoutes(ctx);\n    registerObservabilityProbes(ctx);'),
  });
}
