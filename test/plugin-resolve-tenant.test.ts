/**
 * Issue 17: `ctx.resolveTenant({ code } | { domain })` through a plugin route: a tenant's
 * `{ id, code, name, domain, schema }`, or null when none matches; both or neither asked is a 400
 * `INVALID_TENANT_QUERY` (the plugin passed a client's query on), never a 500. Hostile values table:
 * each finds nothing, and nothing reaches SQL as text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantInfo } from '../sandbox/contract.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, removeCapabilityModules } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

const FINDER = `
const plugin: FoundationPlugin = {
  meta: { id: 'finder', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    // The client's JSON is the query, as a careless plugin would pass it on.
    ctx.router.post('/resolve', async (req, res) => res.json({ tenant: await ctx.resolveTenant(req.body.query) }));
    ctx.router.post('/resolve-in-tx', async (req, res) => {
      const { tenantId } = ctx.auth(req);
      res.json({ tenant: await ctx.withTenantTx(tenantId, () => ctx.resolveTenant(req.body.query)) });
    });
  },
};
export default plugin;
`;

describe.each(databaseServers())('ctx.resolveTenant on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let acme: TenantInfo;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [capabilityModule('finder', { plugin: FINDER })], serverUrl: server.url });
    acme = await t.sandbox.tenancy.get('acme');
  });
  afterAll(() => t?.close());
  const resolve = (query: unknown, path = '/resolve') => t.as('admin@sandbox.dev', 'dev').post(`/api/plugins/finder${path}`).send({ query });

  it('finds a tenant by code or by domain (in any case), in or out of a transaction', async () => {
    const expected = { id: acme.id, code: 'acme', name: 'Acme Corp', domain: 'acme.localhost', schema: 'tenant_acme' };
    expect((await resolve({ code: 'acme' }).expect(200)).body).toEqual({ tenant: expected });
    expect((await resolve({ domain: 'ACME.Localhost' }).expect(200)).body).toEqual({ tenant: expected });
    expect((await resolve({ code: 'acme' }, '/resolve-in-tx').expect(200)).body).toEqual({ tenant: expected });
    expect((await resolve({ domain: 'dev.localhost' }, '/resolve-in-tx').expect(200)).body.tenant.code).toBe('dev');
  });

  it('answers null for a tenant that does not exist', async () => {
    expect((await resolve({ code: 'nowhere' }).expect(200)).body).toEqual({ tenant: null });
    expect((await resolve({ domain: 'nowhere.example' }).expect(200)).body).toEqual({ tenant: null });
  });

  it.each([
    [{ code: 'acme', domain: 'acme.localhost' }, 'both'], [{ code: 'acme', domain: null }, 'both'], [{}, 'neither'], [{ id: 'acme' }, 'neither'],
    [[], 'neither'], [null, 'null'], ['acme', 'a string'], [42, 'a number'], [true, 'a boolean'],
  ])('refuses the query %j with 400 INVALID_TENANT_QUERY (%s)', async (query, got) => {
    const res = await resolve(query).expect(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_TENANT_QUERY', message: `A tenant is looked up by { code } or by { domain }, exactly one of them (got ${got}).` });
  });

  it('refuses an absent query (undefined) the same way', async () => {
    const res = await t.as('admin@sandbox.dev', 'dev').post('/api/plugins/finder/resolve').send({}).expect(400);
    expect(res.body.error.message).toMatch(/got undefined/);
  });

  it.each([
    { code: 'ACME' }, { code: "acme' OR '1'='1" }, { code: '../acme' }, { code: 'acme\0' }, { code: 'acme ' }, { code: 'a'.repeat(10_000) }, { code: '' },
    { code: '%' }, { code: 'acm_' }, { code: null }, { code: 42 }, { code: true }, { code: ['acme'] }, { code: { $ne: null } }, { code: {} },
    { domain: '' }, { domain: ' ' }, { domain: 'acme.localhost\n' }, { domain: 'acme.localhost\0' }, { domain: 'x'.repeat(300) }, { domain: "acme.localhost' OR '1'='1" },
    { domain: '%' }, { domain: '_cme.localhost' }, { domain: 'acme.localhost:3000' }, { domain: ['acme.localhost'] }, { domain: 42 }, { domain: {} },
  ])('finds nothing for %j', async (query) => {
    expect((await resolve(query).expect(200)).body).toEqual({ tenant: null });
  });

  it('finds nothing by a tenant id given as a code: ids and codes never meet', async () => {
    expect((await resolve({ code: acme.id }).expect(200)).body).toEqual({ tenant: null });
    expect((await resolve({ domain: acme.id }).expect(200)).body).toEqual({ tenant: null });
  });
});
