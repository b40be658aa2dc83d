/**
 * Change notifications between processes: every write to the tenant and plugin registries sends
 * one on PostgreSQL's LISTEN/NOTIFY channel, whoever makes it (the CLI, the admin API, a second
 * sandbox, or a maintainer in psql), because triggers on those tables send it (CHANGE_TRIGGERS);
 * every sandbox listens and refreshes its caches. A NOTIFY sent inside a transaction is delivered
 * at its commit, and not at all if it rolls back.
 */
import type pg from 'pg';

/** The one channel every process listens on. */
export const CHANGES_CHANNEL = 'foundation_changes';

/** `tenantIds` left out: any tenant (a statement touched more than CHANGE_ID_LIMIT); `pluginId` left out: any plugin (a TRUNCATE). */
export type Change =
  /** A tenant was created, renamed or dropped. */
  | { kind: 'tenants'; tenantIds?: string[] }
  /** A plugin's enablement changed: globally (kill switch) or for some tenants. */
  | { kind: 'enablement'; pluginId?: string; tenantIds?: string[] }
  /** A plugin was installed, upgraded or uninstalled. */
  | { kind: 'plugins'; pluginId?: string };

/** A notification names at most this many tenants (NOTIFY payloads end at 8000 bytes); more means "any". */
export const CHANGE_ID_LIMIT = 100;

export async function notifyChange(db: pg.Pool | pg.ClientBase, change: Change): Promise<void> {
  await db.query('SELECT pg_catalog.pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]);
}

/** A payload as received; undefined when it is not one of ours (anyone may NOTIFY the channel). */
export function parseChange(payload: string | undefined): Change | undefined {
  try {
    const change = JSON.parse(payload ?? '') as Partial<Change>;
    if (change.kind === 'tenants') return change as Change;
    if ((change.kind === 'enablement' || change.kind === 'plugins') && (change.pluginId === undefined || typeof change.pluginId === 'string')) return change as Change;
  } catch {
    // not JSON: ignored
  }
  return undefined;
}

const notify = (payload: string) => `PERFORM pg_catalog.pg_notify('${CHANGES_CHANNEL}', json_strip_nulls(${payload})::text);`;

/**
 * Statement-level triggers that send the notifications above for every write to `sys_tenant`,
 * `sys_plugins` and `sys_tenant_plugins` (foreign-key cascades included), naming the rows from
 * the statement's transition tables. Part of the system schema's DDL (system-schema.ts).
 */
export const CHANGE_TRIGGERS = /* sql */ `
CREATE OR REPLACE FUNCTION public.sys_notify_tenants() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE n int; ids json;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ${notify(`json_build_object('kind', 'tenants')`)}
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT count(*), json_agg(id::text ORDER BY id) INTO n, ids FROM old_rows;
  ELSE
    SELECT count(*), json_agg(id::text ORDER BY id) INTO n, ids FROM new_rows;
  END IF;
  IF n > 0 THEN
    ${notify(`json_build_object('kind', 'tenants', 'tenantIds', CASE WHEN n <= ${CHANGE_ID_LIMIT} THEN ids END)`)}
  END IF;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION public.sys_notify_tenant_plugins() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE r record;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ${notify(`json_build_object('kind', 'enablement')`)}
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    FOR r IN SELECT plugin_id, count(*) AS n, json_agg(tenant_id::text ORDER BY tenant_id) AS ids FROM old_rows GROUP BY plugin_id LOOP
      ${notify(`json_build_object('kind', 'enablement', 'pluginId', r.plugin_id, 'tenantIds', CASE WHEN r.n <= ${CHANGE_ID_LIMIT} THEN r.ids END)`)}
    END LOOP;
  ELSE
    FOR r IN SELECT plugin_id, count(*) AS n, json_agg(tenant_id::text ORDER BY tenant_id) AS ids FROM new_rows GROUP BY plugin_id LOOP
      ${notify(`json_build_object('kind', 'enablement', 'pluginId', r.plugin_id, 'tenantIds', CASE WHEN r.n <= ${CHANGE_ID_LIMIT} THEN r.ids END)`)}
    END LOOP;
  END IF;
  RETURN NULL;
END $fn$;

-- An update that flips enabled_global is the kill switch (enablement); any other write installs,
-- upgrades or uninstalls the plugin.
CREATE OR REPLACE FUNCTION public.sys_notify_plugins() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE r record;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ${notify(`json_build_object('kind', 'plugins')`)}
  ELSIF TG_OP = 'DELETE' THEN
    FOR r IN SELECT DISTINCT plugin_id FROM old_rows LOOP
      ${notify(`json_build_object('kind', 'plugins', 'pluginId', r.plugin_id)`)}
    END LOOP;
  ELSIF TG_OP = 'INSERT' THEN
    FOR r IN SELECT DISTINCT plugin_id FROM new_rows LOOP
      ${notify(`json_build_object('kind', 'plugins', 'pluginId', r.plugin_id)`)}
    END LOOP;
  ELSE
    FOR r IN SELECT n.plugin_id, bool_or(o.enabled_global IS DISTINCT FROM n.enabled_global) AS switched
               FROM new_rows n LEFT JOIN old_rows o ON o.plugin_id = n.plugin_id GROUP BY n.plugin_id LOOP
      ${notify(`json_build_object('kind', CASE WHEN r.switched THEN 'enablement' ELSE 'plugins' END, 'pluginId', r.plugin_id)`)}
    END LOOP;
  END IF;
  RETURN NULL;
END $fn$;
${['sys_tenant:sys_notify_tenants', 'sys_tenant_plugins:sys_notify_tenant_plugins', 'sys_plugins:sys_notify_plugins'].map((pair) => {
  const [table, fn] = pair.split(':');
  // A trigger with transition tables takes one event: three of them, and one for TRUNCATE.
  return /* sql */ `
DROP TRIGGER IF EXISTS ${table}_inserted ON public.${table};
CREATE TRIGGER ${table}_inserted AFTER INSERT ON public.${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.${fn}();
DROP TRIGGER IF EXISTS ${table}_updated ON public.${table};
CREATE TRIGGER ${table}_updated AFTER UPDATE ON public.${table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.${fn}();
DROP TRIGGER IF EXISTS ${table}_deleted ON public.${table};
CREATE TRIGGER ${table}_deleted AFTER DELETE ON public.${table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.${fn}();
DROP TRIGGER IF EXISTS ${table}_truncated ON public.${table};
CREATE TRIGGER ${table}_truncated AFTER TRUNCATE ON public.${table} FOR EACH STATEMENT EXECUTE FUNCTION public.${fn}();`;
}).join('\n')}
`;
