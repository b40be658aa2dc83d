/**
 * Issue 25: the `sys_tenant_plugins` trigger names every plugin and tenant a statement touched.
 * An UPDATE that moves a row to another plugin (or tenant) used to name only where the row went,
 * so sandboxes kept the switch of the plugin it left. A database made by an older kit gets the
 * new trigger function at its next start.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHANGES_CHANNEL } from '../sandbox/data/changes.ts';
import { ensureSystemSchemaLocked } from '../sandbox/data/system-schema.ts';
import { createThrowawayDatabase, databaseServers, type ThrowawayDatabase } from '../testing/databases.ts';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
/** Sent after each statement: every notice before it belongs to the statement. */
const SENTINEL = '{"kind":"test-sentinel"}';

/** The trigger function as kits before issue 25 wrote it: an UPDATE named the new rows only. */
const OLDER_KIT_FUNCTION = `
CREATE OR REPLACE FUNCTION public.sys_notify_tenant_plugins() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE r record;
BEGIN
  FOR r IN SELECT plugin_id, json_agg(tenant_id::text ORDER BY tenant_id) AS ids FROM new_rows GROUP BY plugin_id LOOP
    PERFORM pg_catalog.pg_notify('${CHANGES_CHANNEL}', json_build_object('kind', 'enablement', 'pluginId', r.plugin_id, 'tenantIds', r.ids)::text);
  END LOOP;
  RETURN NULL;
END $fn$;`;

const cases: { name: string; update: string; notices: unknown[] }[] = [
  {
    name: 'a row moved to another plugin names the plugin it left and the one it reached',
    update: `UPDATE sys_tenant_plugins SET plugin_id = 'beta' WHERE tenant_id = '${A}' AND plugin_id = 'alpha'`,
    notices: [{ kind: 'enablement', pluginId: 'alpha', tenantIds: [A] }, { kind: 'enablement', pluginId: 'beta', tenantIds: [A] }],
  },
  {
    name: 'a row moved to another tenant names both tenants',
    update: `UPDATE sys_tenant_plugins SET tenant_id = '${B}' WHERE tenant_id = '${A}' AND plugin_id = 'alpha'`,
    notices: [{ kind: 'enablement', pluginId: 'alpha', tenantIds: [A, B] }],
  },
  {
    name: 'a row moved to another plugin and tenant names each side with its own tenant',
    update: `UPDATE sys_tenant_plugins SET plugin_id = 'beta', tenant_id = '${B}' WHERE tenant_id = '${A}' AND plugin_id = 'alpha'`,
    notices: [{ kind: 'enablement', pluginId: 'alpha', tenantIds: [A] }, { kind: 'enablement', pluginId: 'beta', tenantIds: [B] }],
  },
  {
    name: 'a switch flipped in place names its plugin and tenant once',
    update: `UPDATE sys_tenant_plugins SET enabled = false WHERE tenant_id = '${A}' AND plugin_id = 'alpha'`,
    notices: [{ kind: 'enablement', pluginId: 'alpha', tenantIds: [A] }],
  },
  {
    name: 'an update that matches no row names nothing',
    update: `UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'nobody'`,
    notices: [],
  },
];

describe.each(databaseServers())('the sys_tenant_plugins change trigger on $name PostgreSQL', (server) => {
  let database: ThrowawayDatabase;
  let pool: pg.Pool;
  let writer: pg.Client;
  let listener: pg.Client;
  const payloads: string[] = [];

  /** Runs `sql` and returns the notices it sent, in pluginId order. */
  async function noticesOf(sql: string): Promise<unknown[]> {
    payloads.splice(0);
    await writer.query(sql);
    await writer.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, SENTINEL]);
    const deadline = Date.now() + 5_000;
    while (!payloads.includes(SENTINEL)) {
      if (Date.now() > deadline) throw new Error(`no sentinel notice within 5 s (got ${JSON.stringify(payloads)})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const notices = payloads.slice(0, payloads.indexOf(SENTINEL)).map((p) => JSON.parse(p) as { pluginId?: string });
    return notices.sort((x, y) => String(x.pluginId).localeCompare(String(y.pluginId)));
  }

  beforeAll(async () => {
    database = await createThrowawayDatabase(server.url);
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    await ensureSystemSchemaLocked(pool);
    writer = new pg.Client({ connectionString: database.url });
    listener = new pg.Client({ connectionString: database.url });
    await Promise.all([writer.connect(), listener.connect()]);
    listener.on('notification', (message) => void payloads.push(message.payload ?? ''));
    await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
    await writer.query(`
      INSERT INTO sys_tenant (id, code, name, schema_name) VALUES ('${A}', 'a', 'A', 'tenant_a'), ('${B}', 'b', 'B', 'tenant_b');
      INSERT INTO sys_plugins (plugin_id, api_version, version_installed, enabled_global) VALUES ('alpha', '1.x', '1.0.0', true), ('beta', '1.x', '1.0.0', true);`);
  });
  beforeEach(async () => {
    // Through noticesOf: the reset's own notices are taken before the case runs.
    await noticesOf(`DELETE FROM sys_tenant_plugins; INSERT INTO sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed) VALUES ('${A}', 'alpha', true, '1.0.0')`);
  });
  afterAll(async () => {
    await Promise.all([writer?.end(), listener?.end(), pool?.end()]);
    await database?.drop();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, { update, notices }) => {
    expect(await noticesOf(update)).toEqual(notices);
  });

  it('replaces an older kit\'s trigger function when the sandbox starts on that database', async () => {
    await writer.query(OLDER_KIT_FUNCTION);
    // An older kit's schema carries an older fingerprint: that is what makes the start re-run the DDL.
    await writer.query(`COMMENT ON TABLE public.sys_tenant IS 'create-foundation-module system schema 0000000000000000'`);
    expect(await noticesOf(cases[0]!.update)).toEqual([{ kind: 'enablement', pluginId: 'beta', tenantIds: [A] }]);

    await writer.query(`UPDATE sys_tenant_plugins SET plugin_id = 'alpha' WHERE tenant_id = '${A}'`);
    await ensureSystemSchemaLocked(pool);
    expect(await noticesOf(cases[0]!.update)).toEqual(cases[0]!.notices);
  });
});
