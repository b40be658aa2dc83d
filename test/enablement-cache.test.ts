/**
 * Issue 16: the enablement gate answers from memory (no query per request), the kill switch of
 * the environment (`FOUNDATION_DISABLED_PLUGINS`) wins over the database, and the caches can be
 * re-read on demand when the listener is off or a change came without a notification.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disabledPluginsFromEnv } from '../sandbox/env-settings.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { listenerPids, logQueries, otherProcess, touchesEnablement, within, WITHIN_ONE_SECOND, type OtherProcess } from './helpers/listener-fixtures.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';

/** Runs `run` with FOUNDATION_DISABLED_PLUGINS set to `value`, and puts the variable back. */
async function withKillSwitch<T>(value: string, run: () => Promise<T>): Promise<T> {
  const before = process.env.FOUNDATION_DISABLED_PLUGINS;
  process.env.FOUNDATION_DISABLED_PLUGINS = value;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.FOUNDATION_DISABLED_PLUGINS;
    else process.env.FOUNDATION_DISABLED_PLUGINS = before;
  }
}

describe('FOUNDATION_DISABLED_PLUGINS', () => {
  it('reads comma-separated plugin ids, spaces around them ignored', () => {
    expect(disabledPluginsFromEnv({})).toEqual([]);
    expect(disabledPluginsFromEnv({ FOUNDATION_DISABLED_PLUGINS: '  ' })).toEqual([]);
    expect(disabledPluginsFromEnv({ FOUNDATION_DISABLED_PLUGINS: ' items , stock-ledger,items' })).toEqual(['items', 'stock-ledger']);
  });

  it('refuses anything else, naming the variable and the id', () => {
    expect(() => disabledPluginsFromEnv({ FOUNDATION_DISABLED_PLUGINS: 'items,Warehouse' })).toThrow(/FOUNDATION_DISABLED_PLUGINS: "Warehouse" is not a plugin id: it must be lowercase kebab-case/);
    expect(() => disabledPluginsFromEnv({ FOUNDATION_DISABLED_PLUGINS: 'items,,warehouse' })).toThrow(/FOUNDATION_DISABLED_PLUGINS: "" is not a plugin id/);
    expect(() => disabledPluginsFromEnv({ FOUNDATION_DISABLED_PLUGINS: 'items;warehouse' })).toThrow(/"items;warehouse" is not a plugin id/);
    expect(() => disabledPluginsFromEnv({ FOUNDATION_DISABLED_PLUGINS: 'sandbox' })).toThrow(/"sandbox" is not a plugin id: it is reserved/);
  });

  it('refuses the start with that message before touching any database', async () => {
    await withKillSwitch('items, Items', async () => {
      await expect(createSandbox({ moduleDirs: [ITEMS_MODULE], databaseUrl: 'postgres://nobody@127.0.0.1:1/none', logger: createLogger({ level: 'silent' }) }))
        .rejects.toThrow(/^FOUNDATION_DISABLED_PLUGINS: "Items" is not a plugin id/);
    });
  });
});

describe.each(databaseServers())('the enablement gate on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let other: OtherProcess;
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    other = await otherProcess(t.database.url);
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  it('sends no query: an anonymous request through it sends none at all', async () => {
    const log = logQueries(t.sandbox.database.pool);
    try {
      // Identity (none named), the gate, the plugin's router (no such route): nothing needs the database.
      for (let i = 0; i < 20; i += 1) {
        expect((await t.request.get('/api/plugins/items/no-such-route').expect(404)).body.error.code).toBe('NOT_FOUND');
      }
      expect(log.texts).toEqual([]);
    } finally {
      log.stop();
    }
  });

  it('sends no query about enablement for identified requests, allowed or refused', async () => {
    const { id: acmeId } = await t.sandbox.tenancy.get('acme');
    const log = logQueries(t.sandbox.database.pool);
    try {
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] },
        [`UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'items' AND tenant_id = $1`, [acmeId]]);
      await within(WITHIN_ONE_SECOND, 'acme answers 403', async () => (await t.as(ADMIN, 'acme').get(ITEMS)).status === 403);
      log.clear();
      for (let i = 0; i < 10; i += 1) {
        expect((await t.as(ADMIN, 'acme').get(ITEMS).expect(403)).body.error.code).toBe('PLUGIN_DISABLED');
        await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
        expect((await t.as('user@sandbox.dev', 'dev').get(ITEMS).expect(403)).body.error.code).toBe('FORBIDDEN');
      }
      // Identity and permissions still ask the database; enablement never does.
      expect(log.texts.length).toBeGreaterThan(0);
      expect(log.texts.filter(touchesEnablement)).toEqual([]);
    } finally {
      log.stop();
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] },
        [`UPDATE sys_tenant_plugins SET enabled = true WHERE plugin_id = 'items' AND tenant_id = $1`, [acmeId]]);
      await t.sandbox.refresh();
    }
  });

  it('treats a plugin named in FOUNDATION_DISABLED_PLUGINS as disabled globally, whatever the database says; health stays open', async () => {
    const killed = await withKillSwitch('items', () => startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url }));
    try {
      const { id: devId } = await killed.sandbox.tenancy.get('dev');
      const off = await killed.as(ADMIN, 'dev').get(ITEMS).expect(403);
      expect(off.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items', tenantId: devId });
      expect(off.body.error.message).toMatch(/disabled globally \(FOUNDATION_DISABLED_PLUGINS\)/);
      expect((await killed.request.get(ITEMS).expect(403)).body.error).toMatchObject({ code: 'PLUGIN_DISABLED', tenantId: null });
      await killed.request.get('/api/plugins/items/health').expect(200);
      await killed.request.get('/health').expect(200, { ok: true, plugins: ['items'] });
      // The database says on, and saying it again changes nothing.
      expect(await killed.sql(`SELECT enabled_global FROM sys_plugins WHERE plugin_id = 'items'`)).toEqual([{ enabled_global: true }]);
      await killed.sandbox.refresh();
      await killed.as(ADMIN, 'dev').get(ITEMS).expect(403);
    } finally {
      await killed.close();
    }
  });

  it('with listenForChanges off, has no listener session and takes changes through refresh()', async () => {
    const quiet = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, listenForChanges: false });
    try {
      expect(await listenerPids({ query: async (sql, params) => quiet.sql(sql, params) })).toEqual([]);
      await quiet.as(ADMIN, 'dev').get(ITEMS).expect(200);
      // A change with no notification at all, as plain SQL makes it.
      await quiet.sql(`UPDATE sys_plugins SET enabled_global = false WHERE plugin_id = 'items'`);
      await quiet.sandbox.refresh();
      await quiet.as(ADMIN, 'dev').get(ITEMS).expect(403);
      await quiet.sql(`UPDATE sys_plugins SET enabled_global = true WHERE plugin_id = 'items'`);
      await quiet.sandbox.rebootstrap();
      await quiet.as(ADMIN, 'dev').get(ITEMS).expect(200);
    } finally {
      await quiet.close();
    }
  });
});
