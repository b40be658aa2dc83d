/**
 * Change notifications between processes: every write to the tenant and plugin registries, and
 * to users, roles, grants and the permission catalog, sends one on PostgreSQL's LISTEN/NOTIFY
 * channel, whoever makes it (the CLI, the admin API, a second sandbox, or a maintainer in psql),
 * because triggers on those tables send it (CHANGE_TRIGGERS);
 * every sandbox listens and refreshes its caches. A NOTIFY sent inside a transaction is delivered
 * at its commit, and not at all if it rolls back.
 */
import type pg from 'pg';

/** The one channel every process listens on. */
export const CHANGES_CHANNEL = 'foundation_changes';

/**
 * `tenantIds` left out: any tenant (a statement touched more than CHANGE_ID_LIMIT); `pluginId` left
 * out: any plugin (a TRUNCATE). An `access` change with neither list concerns anyone.
 */
export type Change =
  /** A tenant was created, renamed or dropped. */
  | { kind: 'tenants'; tenantIds?: string[] }
  /** A plugin's enablement changed: globally (kill switch) or for some tenants. */
  | { kind: 'enablement'; pluginId?: string; tenantIds?: string[] }
  /** A plugin was installed, upgraded or uninstalled. */
  | { kind: 'plugins'; pluginId?: string }
  /**
   * Who may do what changed: users (`userIds`: created, renamed, deleted, given or denied a role)
   * or the roles of tenants (`tenantIds`: a role or its grants); neither: the permission catalog,
   * a TRUNCATE, or more than CHANGE_ID_LIMIT of them.
   */
  | { kind: 'access'; userIds?: string[]; tenantIds?: string[] }
  /** An admin job was started, resumed, retried, paused or ended (operations/jobs): workers look for work. */
  | { kind: 'jobs' };

/** A notification names at most this many tenants (NOTIFY payloads end at 8000 bytes); more means "any". */
export const CHANGE_ID_LIMIT = 100;

export async function notifyChange(db: pg.Pool | pg.ClientBase, change: Change): Promise<void> {
  await db.query('SELECT pg_catalog.pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]);
}

/** A payload as received; undefined when it is not one of ours (anyone may NOTIFY the channel). */
export function parseChange(payload: string | undefined): Change | undefined {
  try {
    const change = JSON.parse(payload ?? '') as Partial<Change>;
    if (change.kind === 'tenants' || change.kind === 'access' || change.kind === 'jobs') return change as Change;
    if ((change.kind === 'enablement' || change.kind === 'plugins') && (change.pluginId === undefined || typeof change.pluginId === 'string')) return change as Change;
  } catch {
    // not JSON: ignored
  }
  return undefined;
}

const notify = (payload: string) => `PERFORM pg_catalog.pg_notify('${CHANGES_CHANNEL}', json_strip_nulls(${payload})::text);`;

/** The rows a statement touched, by the statement's kind: an UPDATE names what was there and what is now. */
const touched = (column: string) => ({
  DELETE: `SELECT ${column} AS v FROM old_rows`,
  INSERT: `SELECT ${column} AS v FROM new_rows`,
  UPDATE: `SELECT ${column} AS v FROM old_rows UNION SELECT ${column} AS v FROM new_rows`,
});

/**
 * A `kind` notice naming the distinct `column` values (as `field`) of the rows a statement
 * touched; none when it touched no row; every one (no list) after a TRUNCATE or past the limit.
 */
function idsNotifier(fn: string, kind: 'tenants' | 'access', field: 'userIds' | 'tenantIds', column: string): string {
  const rows = touched(column);
  const collect = (source: string) => `SELECT count(*), json_agg(v ORDER BY v) INTO n, ids FROM (SELECT DISTINCT v::text AS v FROM (${source}) AS t) AS d;`;
  return /* sql */ `
CREATE OR REPLACE FUNCTION public.${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE n int; ids json;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ${notify(`json_build_object('kind', '${kind}')`)}
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    ${collect(rows.DELETE)}
  ELSIF TG_OP = 'INSERT' THEN
    ${collect(rows.INSERT)}
  ELSE
    ${collect(rows.UPDATE)}
  END IF;
  IF n > 0 THEN
    ${notify(`json_build_object('kind', '${kind}', '${field}', CASE WHEN n <= ${CHANGE_ID_LIMIT} THEN ids END)`)}
  END IF;
  RETURN NULL;
END $fn$;`;
}

/** How many roles `source` names, how many still exist, and their distinct tenants. */
const tenantsOfRoles = (source: string) => `SELECT count(*), count(r.id), count(DISTINCT r.tenant_id),
           json_agg(DISTINCT r.tenant_id::text ORDER BY r.tenant_id::text) FILTER (WHERE r.id IS NOT NULL)
      INTO roles, found, n, ids
      FROM (SELECT DISTINCT v AS role_id FROM (${source}) AS t) AS c LEFT JOIN public.sys_role r ON r.id = c.role_id;`;

/**
 * The triggers behind `access` notices. A grant row names its role, not the role's tenant: the
 * tenant is read from sys_role, and when a role is gone already (deleted in the same statement,
 * by cascade) the notice names no tenant, so every cached permission set is forgotten.
 */
const ACCESS_TRIGGER_FUNCTIONS = /* sql */ `
${idsNotifier('sys_notify_users', 'access', 'userIds', 'id')}
${idsNotifier('sys_notify_user_roles', 'access', 'userIds', 'user_id')}
${idsNotifier('sys_notify_roles', 'access', 'tenantIds', 'tenant_id')}

CREATE OR REPLACE FUNCTION public.sys_notify_role_permissions() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE roles int; found int; n int; ids json;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ${notify(`json_build_object('kind', 'access')`)}
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    ${tenantsOfRoles(touched('role_id').DELETE)}
  ELSIF TG_OP = 'INSERT' THEN
    ${tenantsOfRoles(touched('role_id').INSERT)}
  ELSE
    ${tenantsOfRoles(touched('role_id').UPDATE)}
  END IF;
  IF roles > 0 THEN
    ${notify(`json_build_object('kind', 'access', 'tenantIds', CASE WHEN found = roles AND n <= ${CHANGE_ID_LIMIT} THEN ids END)`)}
  END IF;
  RETURN NULL;
END $fn$;

-- Any change to the catalog may grant or deny anyone anything: no list.
CREATE OR REPLACE FUNCTION public.sys_notify_permissions() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE n int;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    n := 1;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT count(*) INTO n FROM old_rows;
  ELSE
    SELECT count(*) INTO n FROM new_rows;
  END IF;
  IF n > 0 THEN
    ${notify(`json_build_object('kind', 'access')`)}
  END IF;
  RETURN NULL;
END $fn$;
`;

/**
 * One `enablement` notice per plugin a `sys_tenant_plugins` statement touched, naming its tenants.
 * An UPDATE that moves a row to another plugin or tenant names both sides: the plugin (and tenant)
 * it left lose a switch just as the ones it reached gain one.
 */
function tenantPluginsNotifier(): string {
  const pairs = {
    DELETE: 'SELECT plugin_id, tenant_id FROM old_rows',
    INSERT: 'SELECT plugin_id, tenant_id FROM new_rows',
    UPDATE: 'SELECT plugin_id, tenant_id FROM old_rows UNION SELECT plugin_id, tenant_id FROM new_rows',
  };
  const each = (source: string) => /* sql */ `
    FOR r IN SELECT plugin_id, count(*) AS n, json_agg(tenant_id::text ORDER BY tenant_id) AS ids FROM (${source}) AS t GROUP BY plugin_id LOOP
      ${notify(`json_build_object('kind', 'enablement', 'pluginId', r.plugin_id, 'tenantIds', CASE WHEN r.n <= ${CHANGE_ID_LIMIT} THEN r.ids END)`)}
    END LOOP;`;
  return /* sql */ `
CREATE OR REPLACE FUNCTION public.sys_notify_tenant_plugins() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE r record;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ${notify(`json_build_object('kind', 'enablement')`)}
  ELSIF TG_OP = 'DELETE' THEN${each(pairs.DELETE)}
  ELSIF TG_OP = 'INSERT' THEN${each(pairs.INSERT)}
  ELSE${each(pairs.UPDATE)}
  END IF;
  RETURN NULL;
END $fn$;`;
}

/**
 * Statement-level triggers that send the notifications above for every write to `sys_tenant`,
 * `sys_plugins` and `sys_tenant_plugins`, and (`access`) to `sys_user`, `sys_user_role`,
 * `sys_role`, `sys_role_permission` and `sys_permission` (foreign-key cascades included), naming
 * the rows from the statement's transition tables. Part of the system schema's DDL (system-schema.ts).
 */
export const CHANGE_TRIGGERS = /* sql */ `
${idsNotifier('sys_notify_tenants', 'tenants', 'tenantIds', 'id')}

${tenantPluginsNotifier()}

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
${ACCESS_TRIGGER_FUNCTIONS}
${[
  'sys_tenant:sys_notify_tenants', 'sys_tenant_plugins:sys_notify_tenant_plugins', 'sys_plugins:sys_notify_plugins',
  'sys_user:sys_notify_users', 'sys_user_role:sys_notify_user_roles', 'sys_role:sys_notify_roles',
  'sys_role_permission:sys_notify_role_permissions', 'sys_permission:sys_notify_permissions',
].map((pair) => {
  const [table, fn] = pair.split(':');
  // A trigger with transition tables takes one event: three of them, and one for TRUNCATE. Each is
  // created only when missing: creating a trigger locks its table against writers, and a start that
  // re-runs this DDL would deadlock with a running sandbox writing the registries in another order.
  // (A trigger's body is its function, replaced above without any table lock.)
  const create = (suffix: string, definition: string) => /* sql */ `
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = '${table}_${suffix}' AND tgrelid = 'public.${table}'::regclass) THEN
    CREATE TRIGGER ${table}_${suffix} ${definition} EXECUTE FUNCTION public.${fn}();
  END IF;
END $$;`;
  return [
    create('inserted', `AFTER INSERT ON public.${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT`),
    create('updated', `AFTER UPDATE ON public.${table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT`),
    create('deleted', `AFTER DELETE ON public.${table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT`),
    create('truncated', `AFTER TRUNCATE ON public.${table} FOR EACH STATEMENT`),
  ].join('');
}).join('\n')}
`;