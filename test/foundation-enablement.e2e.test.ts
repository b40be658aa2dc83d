/**
 * The plugin's switches in a foundation, on every route but its health, with or without identity:
 * the reference foundation has no enablement gate of its own, so the vendored adapter must bring
 * it. The open-routes fixture module (test/fixtures/modules/open-routes) has a public GET, two
 * anonymous webhooks that find their tenant themselves (ctx.resolveTenant by code, ctx.withTenantTx
 * by id) and a route behind a permission. The operator switches it with `foundation-module plugins`
 * run in the foundation's root; each request is checked for what it answers and what it wrote.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginsCommand } from '../cli/commands/plugins.ts';
import { databaseServers } from '../testing/index.ts';
import { startReferenceFoundation, type FoundationInstance, type FoundationTenant } from './helpers/foundation-instance.ts';
import { copyReferenceFoundation, editBindings, REPO_ROOT, runCommand, vendor } from './helpers/reference-foundation.ts';

const OPEN_ROUTES = path.join(REPO_ROOT, 'test/fixtures/modules/open-routes');
const ID = 'open-routes';
const API = `/api/plugins/${ID}`;
/** The bindings reuse an enablement answer this long (kitRegistries' default TTL), and a little more. */
const SWITCH_DELAY_MS = 1_200;

type State = 'enabled everywhere' | 'killed globally' | 'disabled for acme only';

/** `plugins <args>` in the foundation's root, as its operator runs it: each brings the module to the state named. */
const SWITCHES: Record<State, string[][]> = {
  'enabled everywhere': [['enable', ID], ['enable', ID, '--all']],
  'killed globally': [['enable', ID, '--all'], ['disable', ID]],
  'disabled for acme only': [['enable', ID], ['enable', ID, '--all'], ['disable', ID, '--tenant', 'acme']],
};

interface Call {
  name: string;
  /** The request, `marker` in its body for the webhooks. */
  send(f: FoundationInstance, marker: string): Promise<{ status: number; body: { error?: Record<string, unknown> } }>;
  /** The tenant whose table a webhook writes to. */
  writesTo?: 'dev' | 'acme';
  /** The tenant the refusal names: the caller's, or the one the webhook looked up; null for a request without a tenant; any other string, the id given. */
  refusalNames: string | null;
}

/** A well-formed tenant id that no tenant has. */
const NO_TENANT = '00000000-0000-4000-8000-000000000000';

const CALLS: Call[] = [
  { name: 'anonymous GET of a public route', send: (f) => f.anonymous().get(`${API}/status`), refusalNames: null },
  { name: 'anonymous GET of a route that does not exist', send: (f) => f.anonymous().get(`${API}/nothing-here`), refusalNames: null },
  { name: 'anonymous webhook for dev, by code (resolveTenant)', send: (f, marker) => f.anonymous().post(`${API}/hooks/dev`).send({ marker }), writesTo: 'dev', refusalNames: null },
  { name: 'anonymous webhook for acme, by code (resolveTenant)', send: (f, marker) => f.anonymous().post(`${API}/hooks/acme`).send({ marker }), writesTo: 'acme', refusalNames: null },
  { name: 'anonymous webhook for dev, by id (withTenantTx)', send: (f, marker) => f.anonymous().post(`${API}/hooks-by-id/${f.tenants.dev.id}`).send({ marker }), writesTo: 'dev', refusalNames: null },
  { name: 'anonymous webhook for acme, by id (withTenantTx)', send: (f, marker) => f.anonymous().post(`${API}/hooks-by-id/${f.tenants.acme.id}`).send({ marker }), writesTo: 'acme', refusalNames: null },
  { name: 'anonymous webhook for a code no tenant has', send: (f, marker) => f.anonymous().post(`${API}/hooks/nobody`).send({ marker }), refusalNames: null },
  { name: 'anonymous webhook for an id no tenant has', send: (f, marker) => f.anonymous().post(`${API}/hooks-by-id/${NO_TENANT}`).send({ marker }), refusalNames: 'no tenant' },
  { name: 'anonymous webhook for an id that is no uuid', send: (f, marker) => f.anonymous().post(`${API}/hooks-by-id/x'%3B%20DROP%20TABLE%20x`).send({ marker }), refusalNames: "x'; DROP TABLE x" },
  { name: 'a signed-in user of dev', send: (f) => f.as(f.users.alice, f.tenants.dev).get(`${API}/deliveries`), refusalNames: 'dev' },
  { name: 'a signed-in user of acme', send: (f) => f.as(f.users.alice, f.tenants.acme).get(`${API}/deliveries`), refusalNames: 'acme' },
  { name: 'a signed-in user of dev calling the webhook for acme', send: (f, marker) => f.as(f.users.alice, f.tenants.dev).post(`${API}/hooks/acme`).send({ marker }), writesTo: 'acme', refusalNames: 'dev' },
];

/** What each call answers in each state: its status, and for a 403 the tenant the refusal names (else the caller's). */
const EXPECTED: Record<State, Record<string, { status: number; names?: string | null }>> = {
  'enabled everywhere': {
    'anonymous GET of a public route': { status: 200 },
    'anonymous GET of a route that does not exist': { status: 404 },
    'anonymous webhook for dev, by code (resolveTenant)': { status: 201 },
    'anonymous webhook for acme, by code (resolveTenant)': { status: 201 },
    'anonymous webhook for dev, by id (withTenantTx)': { status: 201 },
    'anonymous webhook for acme, by id (withTenantTx)': { status: 201 },
    'anonymous webhook for a code no tenant has': { status: 404 },
    // No tenant has the id: the plugin is on for no such tenant, and nothing is written anywhere.
    'anonymous webhook for an id no tenant has': { status: 403 },
    'anonymous webhook for an id that is no uuid': { status: 403 },
    'a signed-in user of dev': { status: 200 },
    'a signed-in user of acme': { status: 200 },
    'a signed-in user of dev calling the webhook for acme': { status: 201 },
  },
  'killed globally': {
    'anonymous GET of a public route': { status: 403 },
    'anonymous GET of a route that does not exist': { status: 403 },
    'anonymous webhook for dev, by code (resolveTenant)': { status: 403 },
    'anonymous webhook for acme, by code (resolveTenant)': { status: 403 },
    'anonymous webhook for dev, by id (withTenantTx)': { status: 403 },
    'anonymous webhook for acme, by id (withTenantTx)': { status: 403 },
    'anonymous webhook for a code no tenant has': { status: 403, names: null },
    'anonymous webhook for an id no tenant has': { status: 403, names: null },
    'anonymous webhook for an id that is no uuid': { status: 403, names: null },
    'a signed-in user of dev': { status: 403 },
    'a signed-in user of acme': { status: 403 },
    'a signed-in user of dev calling the webhook for acme': { status: 403 },
  },
  'disabled for acme only': {
    'anonymous GET of a public route': { status: 200 },
    'anonymous GET of a route that does not exist': { status: 404 },
    'anonymous webhook for dev, by code (resolveTenant)': { status: 201 },
    'anonymous webhook for acme, by code (resolveTenant)': { status: 403, names: 'acme' },
    'anonymous webhook for dev, by id (withTenantTx)': { status: 201 },
    'anonymous webhook for acme, by id (withTenantTx)': { status: 403, names: 'acme' },
    'anonymous webhook for a code no tenant has': { status: 404 },
    // No tenant has the id: the plugin is on for no such tenant, and nothing is written anywhere.
    'anonymous webhook for an id no tenant has': { status: 403 },
    'anonymous webhook for an id that is no uuid': { status: 403 },
    'a signed-in user of dev': { status: 200 },
    'a signed-in user of acme': { status: 403 },
    // The caller's tenant has the plugin on; the tenant the route acts in does not.
    'a signed-in user of dev calling the webhook for acme': { status: 403, names: 'acme' },
  },
};

describe.each(databaseServers())('the enablement gate of a vendored module, with and without identity, in the reference foundation on $name PostgreSQL', (server) => {
  let f: FoundationInstance;
  const tenantOf = (name: 'dev' | 'acme'): FoundationTenant => f.tenants[name];
  /** The tenant id a refusal names: dev's or acme's, null, or a given id as it is. */
  const idOf = (named: string | null) => (named === 'dev' || named === 'acme' ? tenantOf(named).id : named === 'no tenant' ? NO_TENANT : named);
  const deliveries = async (tenant: FoundationTenant, marker: string) =>
    (await f.sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${tenant.schemaName}".open_routes_deliveries WHERE marker = $1`, [marker]))[0]!.n;

  beforeAll(async () => {
    f = await startReferenceFoundation({ modules: [OPEN_ROUTES], serverUrl: server.url });
    for (const tenant of [f.tenants.dev, f.tenants.acme]) await f.grant(f.users.alice, tenant, ['open-routes.deliveries.read']);
  });

  afterAll(async () => {
    await f?.close();
  });

  describe.each(Object.keys(SWITCHES) as State[])('%s', (state) => {
    beforeAll(async () => {
      for (const args of SWITCHES[state]) {
        const run = await runCommand((write) => pluginsCommand([...args, '--database-url', f.databaseUrl], '0.0.0-test', { cwd: f.root, write }));
        expect(run.code, `plugins ${args.join(' ')}:\n${run.text}`).toBe(0);
      }
      await new Promise((resolve) => setTimeout(resolve, SWITCH_DELAY_MS));
    });

    it.each(CALLS)('$name', async (call) => {
      const expected = EXPECTED[state][call.name]!;
      const marker = `${state}: ${call.name}`;
      const res = await call.send(f, marker);
      expect(res.status, JSON.stringify(res.body)).toBe(expected.status);
      if (expected.status === 403) {
        const named = expected.names !== undefined ? expected.names : call.refusalNames;
        expect(res.body).toEqual({
          error: {
            code: 'PLUGIN_DISABLED',
            message: expect.stringMatching(state === 'killed globally' ? /^Plugin open-routes is disabled globally\.$/ : /^Plugin open-routes is disabled for this tenant\.$/),
            pluginId: ID,
            tenantId: idOf(named),
            requestId: expect.any(String),
          },
        });
      }
      for (const tenant of ['dev', 'acme'] as const) {
        const wrote = expected.status === 201 && call.writesTo === tenant ? 1 : 0;
        expect(await deliveries(tenantOf(tenant), marker), `rows written in ${tenant}`).toBe(wrote);
      }
    });

    it('keeps the health route open', async () => {
      const res = await f.anonymous().get(`${API}/health`).expect(200);
      expect(res.body).toEqual({ ok: true, plugin: ID, version: '0.1.0' });
    });
  });
});

describe('a bindings file without the global switch (written by hand, or before the kit asked for it)', () => {
  let root: string | undefined;
  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('makes the adapter refuse to load, naming the entry and where it comes from, rather than leave anonymous routes open', async () => {
    root = copyReferenceFoundation();
    const vendored = await vendor([OPEN_ROUTES, '--into', root]);
    expect(vendored.code, vendored.lines.join('\n')).toBe(0);
    editBindings(root);
    const bindingsFile = path.join(root, 'src/lib/foundation-module/bindings.ts');
    const text = fs.readFileSync(bindingsFile, 'utf8');
    expect(text).toContain('...kitRegistries(getPool, tenantTable),');
    // What a hand-written enablement looks like: isEnabled alone.
    fs.writeFileSync(bindingsFile, text.replace('...kitRegistries(getPool, tenantTable),', '...kitRegistries(getPool, tenantTable),\n  isEnabledGlobally: undefined as never,'));
    const adapter = pathToFileURL(path.join(root, 'src/modules/open-routes/server/routes/index.ts')).href;
    await expect(import(adapter)).rejects.toThrow(
      "src/lib/foundation-module/bindings.ts gives no isEnabledGlobally: each must be a function. The kit's registries provide isEnabled and isEnabledGlobally (...kitRegistries(pool, tenantTable)); docs/vendoring.md describes each entry.");
  });
});
