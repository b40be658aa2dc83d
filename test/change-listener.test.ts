/**
 * Issue 16: a change another process makes (tenants, plugin enablement) reaches a running
 * sandbox within one second through LISTEN/NOTIFY, also after the listening connection dropped;
 * tenants created elsewhere serve this sandbox's plugins at once; foreign payloads do no harm.
 * "Another process" is a connection of its own doing the change and the NOTIFY in one
 * transaction, as the CLI does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { ABOUT_A_SECOND, listenerPids, logQueries, otherProcess, within, WITHIN_ONE_SECOND, type OtherProcess } from './helpers/listener-fixtures.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';
const SET_TENANT = `UPDATE sys_tenant_plugins SET enabled = $2 WHERE plugin_id = 'items' AND tenant_id = $1`;
const SET_GLOBAL = `UPDATE sys_plugins SET enabled_global = $1 WHERE plugin_id = 'items'`;

describe.each(databaseServers())('changes made by another process, on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let other: OtherProcess;
  let acmeId: string;
  let devId: string;
  const status = async (tenant = 'acme') => (await t.as(ADMIN, tenant).get(ITEMS)).status;
  const answers = (code: number, tenant = 'acme') => async () => {
    const seen = await status(tenant);
    return { ok: seen === code, seen };
  };
  /** The tenant switch of acme, back on, and the sandbox certain to have read it: one test's failure can't leak into the next. */
  const putBack = async () => {
    await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, true]]);
    await other.change({ kind: 'enablement', pluginId: 'items' }, [SET_GLOBAL, [true]]);
    await t.sandbox.refresh();
  };

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    other = await otherProcess(t.database.url);
    acmeId = (await t.sandbox.tenancy.get('acme')).id;
    devId = (await t.sandbox.tenancy.get('dev')).id;
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  it('takes a write made with plain SQL (no NOTIFY of its own, as from psql) within one second: the registry tables notify', async () => {
    try {
      await other.query(SET_TENANT, [acmeId, false]);
      await within(WITHIN_ONE_SECOND, 'acme answers 403 after a bare UPDATE', answers(403));
      await other.query(SET_TENANT, [acmeId, true]);
      await within(WITHIN_ONE_SECOND, 'acme answers 200 again', answers(200));
      await other.query(SET_GLOBAL, [false]);
      await within(WITHIN_ONE_SECOND, 'the kill switch pulled in psql', answers(403, 'dev'));
      await other.query(SET_GLOBAL, [true]);
      await within(WITHIN_ONE_SECOND, 'the kill switch released in psql', answers(200, 'dev'));
      // A tenant renamed in psql: the sandbox forgets what it cached of it.
      await other.query(`UPDATE sys_tenant SET name = 'Acme renamed' WHERE id = $1`, [acmeId]);
      await within(WITHIN_ONE_SECOND, 'the new name is served', async () => {
        const seen = (await t.sandbox.tenancy.get('acme')).name;
        return { ok: seen === 'Acme renamed', seen };
      });
    } finally {
      await putBack();
    }
  });

  it('switches a plugin off and on for one tenant within one second; health stays open', async () => {
    try {
      await t.as(ADMIN, 'acme').get(ITEMS).expect(200);
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, false]]);
      await within(WITHIN_ONE_SECOND, 'acme answers 403', answers(403));
      const off = await t.as(ADMIN, 'acme').get(ITEMS).expect(403);
      expect(off.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items', tenantId: acmeId });
      await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
      await t.request.get('/api/plugins/items/health').expect(200);
      await t.request.get('/health').expect(200);

      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, true]]);
      await within(WITHIN_ONE_SECOND, 'acme answers 200 again', answers(200));
    } finally {
      await putBack();
    }
  });

  it('switches a plugin off and on globally within one second; health stays open', async () => {
    try {
      await other.change({ kind: 'enablement', pluginId: 'items' }, [SET_GLOBAL, [false]]);
      await within(WITHIN_ONE_SECOND, 'dev answers 403', answers(403, 'dev'));
      const off = await t.as(ADMIN, 'dev').get(ITEMS).expect(403);
      expect(off.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items', tenantId: devId });
      expect((await t.request.get(ITEMS).expect(403)).body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items', tenantId: null });
      await t.request.get('/api/plugins/items/health').expect(200, { ok: true, plugin: 'items', version: '0.1.0' });

      await other.change({ kind: 'enablement', pluginId: 'items' }, [SET_GLOBAL, [true]]);
      await within(WITHIN_ONE_SECOND, 'dev answers 200 again', answers(200, 'dev'));
      await t.as(ADMIN, 'acme').get(ITEMS).expect(200);
    } finally {
      await putBack();
    }
  });

  it('still takes a change within about a second when the listener\'s session is ended, and listens again', async () => {
    const log = logQueries(t.sandbox.database.pool);
    try {
      const [first] = await listenerPids(other);
      expect(first).toEqual(expect.any(Number));
      await other.query('SELECT pg_terminate_backend($1)', [first]);
      // Sent while nobody listens: only the re-read after the reconnection can bring it.
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, false]]);
      await within(ABOUT_A_SECOND, 'acme answers 403 after the drop', answers(403));

      await within(5_000, 'a new listener session', async () => {
        const pids = await listenerPids(other);
        return { ok: pids.length === 1 && pids[0] !== first, seen: pids };
      });
      // Listening again, it stops re-reading on a timer: a quiet sandbox sends no query at all.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      log.clear();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(log.texts).toEqual([]);
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, true]]);
      await within(WITHIN_ONE_SECOND, 'acme answers 200 through the new session', answers(200));
    } finally {
      log.stop();
      await putBack();
    }
  });

  it('re-reads every second while it cannot reconnect, and reconnects once it can', async () => {
    const { name } = t.database;
    // A database can't refuse connections to itself: the switch is thrown from the server's own database.
    const admin = await otherProcess(server.url);
    // The sandbox's pool keeps the connections it has; only new ones (the listener's) are refused.
    await Promise.all([t.sql('SELECT 1'), t.sql('SELECT 1')]);
    const [first] = await listenerPids(other);
    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    try {
      await other.query('SELECT pg_terminate_backend($1)', [first]);
      await within(2_000, 'the listener session gone', async () => ({ ok: (await listenerPids(other)).length === 0, seen: await listenerPids(other) }));
      // Well after the reconnection's re-read: only the re-reading every second can bring these.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, false]]);
      await within(ABOUT_A_SECOND, 'acme answers 403 while the listener is down', answers(403));
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, true]]);
      await within(ABOUT_A_SECOND, 'acme answers 200 while the listener is down', answers(200));
      expect(await listenerPids(other)).toEqual([]);
    } finally {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      await admin.close();
    }
    await within(5_000, 'a new listener session', async () => ({ ok: (await listenerPids(other)).length === 1, seen: await listenerPids(other) }));
    try {
      await other.change({ kind: 'enablement', pluginId: 'items' }, [SET_GLOBAL, [false]]);
      await within(WITHIN_ONE_SECOND, 'dev answers 403 after the reconnection', answers(403, 'dev'));
    } finally {
      await putBack();
    }
  });

  it('ignores foreign and malformed payloads on the channel', async () => {
    const [before] = await listenerPids(other);
    const payloads = ['not json', '{"kind":"other"}', '{"kind":"enablement"}', '{"kind":"enablement","pluginId":42}', '{"kind":"enablement","pluginId":"nope"}',
      '{"kind":"tenants","tenantIds":"acme"}', '{"kind":"tenants","tenantIds":["not-a-uuid",null]}', 'null', '[]', '"tenants"', ''];
    for (const payload of payloads) await other.query(`SELECT pg_notify('foundation_changes', $1)`, [payload]);
    try {
      // The same session still listens (no crash, no reconnection), and the next real change lands.
      await other.change({ kind: 'enablement', pluginId: 'items', tenantIds: [acmeId] }, [SET_TENANT, [acmeId, false]]);
      await within(WITHIN_ONE_SECOND, 'acme answers 403 after the garbage', answers(403));
      expect(await listenerPids(other)).toEqual([before]);
      await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
    } finally {
      await putBack();
    }
  });

  /** A tenant row and its schema, made by another process in one transaction with its notification. */
  const createTenant = async (code: string): Promise<{ id: string; committed: number }> => {
    const [{ id }] = (await other.query<{ id: string }>('SELECT gen_random_uuid()::text AS id')) as [{ id: string }];
    await other.change({ kind: 'tenants', tenantIds: [id] },
      [`INSERT INTO sys_tenant (id, code, name, schema_name) VALUES ($1, $2, $2, 'tenant_' || $2)`, [id, code]], `CREATE SCHEMA tenant_${code}`);
    return { id, committed: performance.now() };
  };

  it('serves a tenant created by another process within one second, its tables migrated', async () => {
    const { id, committed } = await createTenant('newco');
    await t.grant(ADMIN, 'newco', ['items.items.read', 'items.items.create']);
    await within(WITHIN_ONE_SECOND, 'newco answers 200', answers(200, 'newco'), committed);

    expect(await t.sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'tenant_newco'`)).toEqual([{ table_name: 'items_items' }]);
    expect(await t.sql(`SELECT plugin_id, enabled FROM sys_tenant_plugins WHERE tenant_id = $1`, [id])).toEqual([{ plugin_id: 'items', enabled: true }]);
    await t.as(ADMIN, 'newco').post(ITEMS).send({ name: 'First' }).expect(201);
    expect(await t.sql('SELECT name FROM tenant_newco.items_items')).toEqual([{ name: 'First' }]);
    expect(await t.sql('SELECT count(*)::int AS n FROM tenant_acme.items_items WHERE name = $1', ['First'])).toEqual([{ n: 0 }]);
  });

  it('forgets a tenant renamed by another process within one second', async () => {
    const { id } = await createTenant('oldname');
    await t.grant(ADMIN, 'oldname', ['items.items.read']);
    await within(WITHIN_ONE_SECOND, 'oldname answers 200', answers(200, 'oldname'));
    await other.change({ kind: 'tenants', tenantIds: [id] }, [`UPDATE sys_tenant SET code = 'newname' WHERE id = $1`, [id]]);
    await within(WITHIN_ONE_SECOND, 'oldname refused', answers(400, 'oldname'));
    await t.as(ADMIN, 'newname').get(ITEMS).expect(200);
  });
});

describe.each(databaseServers())('a sandbox\'s listener on $name PostgreSQL', (server) => {
  it('ends its session on close()', async () => {
    const t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url });
    const other = await otherProcess(t.database.url);
    try {
      const second = await createSandbox({ moduleDirs: [ITEMS_MODULE], databaseUrl: t.database.url, logger: createLogger({ level: 'silent' }) });
      const both = await listenerPids(other);
      expect(both).toHaveLength(2);
      await second.close();
      await within(2_000, 'one listener left', async () => ({ ok: (await listenerPids(other)).length === 1, seen: await listenerPids(other) }));
      await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
    } finally {
      await other.close();
      await t.close();
    }
  });
});
