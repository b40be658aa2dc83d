/**
 * The sandbox holds a plugin's switches on routes without identity too: a webhook that names its
 * tenant (ctx.resolveTenant, ctx.withTenantTx) is refused 403 PLUGIN_DISABLED in a tenant where the
 * plugin is off, and writes nothing there; the kill switch closes every route but health. The
 * foundation adapter does the same (test/foundation-enablement.e2e.test.ts).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { REPO_ROOT } from './helpers/examples.ts';

const OPEN_ROUTES = path.join(REPO_ROOT, 'test', 'fixtures', 'modules', 'open-routes');

async function until(t: TestSandbox, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the sandbox never took the switch on');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(databaseServers())('anonymous routes and the plugin\'s switches in the sandbox on $name PostgreSQL', (server) => {
  it('refuses a webhook into a tenant where the plugin is off, writes nothing there, and closes all but health when killed', async (context) => {
    const t = await startTestSandbox({ moduleDirs: [OPEN_ROUTES], serverUrl: server.url });
    context.onTestFinished(() => t.close());
    const [acme] = await t.sql<{ id: string }>(`SELECT id::text FROM sys_tenant WHERE code = 'acme'`);
    const rows = async (tenant: string) => (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM tenant_${tenant}.open_routes_deliveries`))[0]!.n;
    const hook = (tenant: string) => t.request.post(`/api/plugins/open-routes/hooks/${tenant}`).send({ marker: 'm' });

    expect((await hook('acme')).status).toBe(201);
    await t.sql(`UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'open-routes' AND tenant_id = $1`, [acme!.id]);
    await until(t, async () => (await hook('acme')).status === 403);
    // Calls made before the switch reached the sandbox may have written: count from here.
    const [acmeBefore, devBefore] = [await rows('acme'), await rows('dev')];

    const cases: [string, () => Promise<{ status: number; body: { error?: { code?: string; tenantId?: string } } }>, number, string | undefined][] = [
      ['a webhook by code into the disabled tenant', () => hook('acme'), 403, 'PLUGIN_DISABLED'],
      ['a webhook by id into the disabled tenant', () => t.request.post(`/api/plugins/open-routes/hooks-by-id/${acme!.id}`).send({ marker: 'm' }), 403, 'PLUGIN_DISABLED'],
      ['a signed-in caller of another tenant, into the disabled one', () => t.as('admin@sandbox.dev', 'dev').post(`/api/plugins/open-routes/hooks/acme`).send({ marker: 'm' }), 403, 'PLUGIN_DISABLED'],
      ['a webhook into a tenant where it is on', () => hook('dev'), 201, undefined],
      ['a webhook by an id no tenant has', () => t.request.post(`/api/plugins/open-routes/hooks-by-id/${randomUUID()}`).send({ marker: 'm' }), 400, 'UNKNOWN_TENANT'],
      ['a public route', () => t.request.get('/api/plugins/open-routes/status'), 200, undefined],
    ];
    for (const [what, call, status, code] of cases) {
      const response = await call();
      expect({ what, status: response.status, code: response.body.error?.code }).toEqual({ what, status, code });
      if (code === 'PLUGIN_DISABLED') expect(response.body.error?.tenantId).toBe(acme!.id);
    }
    expect(await rows('acme')).toBe(acmeBefore);
    expect(await rows('dev')).toBe(devBefore + 1);

    await t.sql(`UPDATE sys_plugins SET enabled_global = false WHERE plugin_id = 'open-routes'`);
    await until(t, async () => (await t.request.get('/api/plugins/open-routes/status')).status === 403);
    expect((await hook('dev')).status).toBe(403);
    expect((await t.request.get('/api/plugins/open-routes/health')).status).toBe(200);
    expect(await rows('dev')).toBe(devBefore + 1);
  });
});
