/**
 * Issue 16 end to end, as an operator drives it against a running sandbox: the operator commands
 * create tenants, enable the module, migrate; the module serves CRUD there; a disable (for one
 * tenant, then the global kill switch) answers 403 PLUGIN_DISABLED from the running sandbox within
 * a second, and an enable brings 200 back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { pluginsCommand } from '../cli/commands/plugins.ts';
import { tenantsCommand } from '../cli/commands/tenants.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE, REPO_ROOT } from './helpers/examples.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';

/** Polls `check` until it returns true or `ms` pass: the contract is "within one second". */
async function within(ms: number, check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(databaseServers())('the plugin lifecycle on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let operator: (command: 'tenants' | 'plugins' | 'migrate', ...args: string[]) => Promise<number>;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    const common = ['--database-url', t.database.url];
    operator = (command, ...args) => {
      const io = { cwd: REPO_ROOT, write: () => {} };
      if (command === 'tenants') return tenantsCommand([...args, '--modules', ITEMS_MODULE, ...common], '0.0.0', io);
      // disable needs no module folder (and refuses --modules): it only flips the switch.
      const modules = args[0] === 'disable' ? [] : ['--modules', ITEMS_MODULE];
      if (command === 'plugins') return pluginsCommand([...args, ...modules, ...common], '0.0.0', io);
      return migrateCommand([args[0]!, ITEMS_MODULE, ...args.slice(1), ...common], io);
    };
  });
  afterAll(() => t?.close());

  const status = async (tenant: string) => (await t.as(ADMIN, tenant).get(ITEMS)).status;

  it('creates tenants, enables, migrates, serves CRUD, and follows disable and enable within a second', async () => {
    expect(await operator('tenants', 'create', 'gamma', 'delta')).toBe(0);
    expect(await operator('plugins', 'enable', 'items', '--tenant', 'gamma', '--tenant', 'delta')).toBe(0);
    expect(await operator('migrate', 'up')).toBe(0);
    await t.grant(ADMIN, 'gamma', ['items.items.read', 'items.items.create', 'items.items.update', 'items.items.delete']);
    await t.grant(ADMIN, 'delta', ['items.items.read']);

    const created = await t.as(ADMIN, 'gamma').post(ITEMS).send({ name: 'made in gamma' }).expect(201);
    const id = created.body.data.id as string;
    await t.as(ADMIN, 'gamma').patch(`${ITEMS}/${id}`).send({ description: 'edited' }).expect(200);
    expect((await t.as(ADMIN, 'gamma').get(ITEMS).expect(200)).body.data.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await t.as(ADMIN, 'delta').get(ITEMS).expect(200)).body.data).toEqual([]);
    expect(await t.sql('SELECT name, description FROM tenant_gamma.items_items')).toEqual([{ name: 'made in gamma', description: 'edited' }]);

    // Off for one tenant: the running sandbox refuses it within a second; the other tenant and health stay.
    expect(await operator('plugins', 'disable', 'items', '--tenant', 'gamma')).toBe(0);
    await within(1_000, async () => (await status('gamma')) === 403, 'gamma refused after disable');
    const refused = await t.as(ADMIN, 'gamma').get(ITEMS).expect(403);
    const { id: gammaId } = await t.sandbox.tenancy.get('gamma');
    expect(refused.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items', tenantId: gammaId });
    expect(await status('delta')).toBe(200);
    await t.request.get('/api/plugins/items/health').expect(200);

    expect(await operator('plugins', 'enable', 'items', '--tenant', 'gamma')).toBe(0);
    await within(1_000, async () => (await status('gamma')) === 200, 'gamma served again after enable');

    // The kill switch: off everywhere within a second, then on again; the data was never touched.
    expect(await operator('plugins', 'disable', 'items')).toBe(0);
    await within(1_000, async () => (await status('gamma')) === 403 && (await status('delta')) === 403, 'kill switch');
    await t.request.get('/api/plugins/items/health').expect(200);
    expect(await operator('plugins', 'enable', 'items')).toBe(0);
    await within(1_000, async () => (await status('gamma')) === 200 && (await status('delta')) === 200, 'kill switch released');
    await t.as(ADMIN, 'gamma').delete(`${ITEMS}/${id}`).expect(204);

    // And the no-op that follows is one plan: nothing pending anywhere.
    expect(await operator('migrate', 'validate')).toBe(0);
  });
});
