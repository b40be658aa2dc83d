/**
 * A copy of examples/items with extra routes under `/api/plugins/items/probe/*` that do what a
 * careless or hostile plugin or client would: call host capabilities inside a transaction, hold
 * a connection, sit idle in a transaction, write raw values, throw odd HTTP errors.
 */
import { moduleVariant } from './examples.ts';

const PROBES = `import { sql } from 'drizzle-orm';
import type { PluginContext } from 'create-foundation-module/contract';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerProbes(ctx: PluginContext): void {
  const r = ctx.router;
  const read = ctx.rbac.require('items.items.read');
  const write = ctx.rbac.require('items.items.create');

  // Host capabilities called while the tenant transaction holds its connection.
  r.get('/probe/config-in-tx', read, async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const answer = await ctx.withTenantTx(tenantId, async (db) => {
      await db.execute(sql\`SELECT pg_sleep(0.05)\`);
      const colour = await ctx.config.getTenant(tenantId, 'colour');
      const global = await ctx.config.getGlobal('banner');
      const tenant = await ctx.resolveTenant({ code: 'acme' });
      const nested = await ctx.withTenantTx(tenantId, (inner) => inner.execute(sql\`SELECT current_schema() AS schema\`));
      return { colour: colour ?? null, global: global ?? null, tenant: tenant?.code ?? null, nestedSchema: nested.rows[0]?.schema };
    });
    res.json(answer);
  });

  r.get('/probe/other-tenant-in-tx', read, async (req, res) => {
    const { tenantId } = ctx.auth(req);
    await ctx.withTenantTx(tenantId, () => ctx.withTenantTx(String(req.query.other), async () => undefined));
    res.json({ ok: true });
  });

  r.get('/probe/hold', read, async (req, res) => {
    const { tenantId } = ctx.auth(req);
    await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`SELECT pg_sleep(\${Number(req.query.seconds)})\`));
    res.json({ ok: true });
  });

  r.get('/probe/idle', read, async (req, res) => {
    const { tenantId } = ctx.auth(req);
    await ctx.withTenantTx(tenantId, async (db) => {
      await db.execute(sql\`SELECT 1\`);
      await sleep(Number(req.query.ms));
      await db.execute(sql\`SELECT 1\`);
    });
    res.json({ ok: true });
  });

  // Writes the body as it comes: the database is the only check.
  r.post('/probe/raw', write, async (req, res) => {
    const { tenantId } = ctx.auth(req);
    const { small = null, code = null, ref = null, day = null } = req.body ?? {};
    const rows = await ctx.withTenantTx(tenantId, (db) =>
      db.execute(sql\`INSERT INTO items_probes (small, code, ref, day) VALUES (\${small}, \${code}, \${ref}, \${day}) RETURNING id\`));
    res.status(201).json({ data: rows.rows[0] });
  });

  // The status as JSON, so a test can send 302, 404.5 or "404".
  r.get('/probe/http-error', read, (req) => {
    throw ctx.httpError(JSON.parse(String(req.query.status)) as number, 'PROBE', 'a probe error');
  });
}
`;

const MIGRATION = `CREATE TABLE items_probes (
  id serial PRIMARY KEY,
  small smallint,
  code varchar(3) NOT NULL UNIQUE,
  ref uuid,
  day date
);
`;

/** The probe module in a temporary folder under the repo (remove it after the test). */
export function probeModule(): string {
  return moduleVariant({
    'plugin/probes.ts': PROBES,
    'migrations/tenant/002_probes.sql': MIGRATION,
    'plugin/index.ts': (old) => old
      .replace("import { itemsPermissions, registerItemsRoutes } from './items.ts';", "import { itemsPermissions, registerItemsRoutes } from './items.ts';\nimport { registerProbes } from './probes.ts';")
      .replace('registerItemsRoutes(ctx);', 'registerItemsRoutes(ctx);\n    registerProbes(ctx);'),
  });
}
