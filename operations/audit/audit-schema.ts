/**
 * The audit log's table and the triggers that write it. Every change to the registries (tenants,
 * plugins and their enablement, configuration and versions, roles' grants) is logged by triggers
 * on those tables, in the transaction that makes it, whoever makes it: the admin API and the CLI
 * say who acts (sandbox/data/transaction-actor.ts: `foundation.actor`, `foundation.source`,
 * `foundation.reason`, `foundation.request_id`); a change from psql or a foundation's own code is
 * logged under the database user, source `sql`. Nothing can be left out by a code path that
 * forgets, and a rolled-back change leaves no entry.
 *
 * The log is append-only: an UPDATE, DELETE or TRUNCATE of it fails, for every role (a superuser
 * pruning old entries disables the trigger first, docs/admin.md).
 *
 * The same triggers keep each registry row's `revision` (counting its changes) and `updated_by`:
 * what a versioned write compares (the admin API's `If-Match`), and whom a refused one names.
 */

/** The actor of the running transaction, as the triggers read it. */
const ACTOR_FUNCTION = /* sql */ `
CREATE OR REPLACE FUNCTION public.sys_audit_actor(OUT actor text, OUT source text, OUT reason text, OUT request_id text)
LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(nullif(current_setting('foundation.actor', true), ''), session_user::text),
         coalesce(nullif(current_setting('foundation.source', true), ''), 'sql'),
         nullif(current_setting('foundation.reason', true), ''),
         nullif(current_setting('foundation.request_id', true), '')
$fn$;`;

const TABLE = /* sql */ `
CREATE TABLE IF NOT EXISTS public.sys_audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  source      text NOT NULL,
  action      text NOT NULL,
  plugin_id   text,
  -- No foreign key: the log outlives the tenants it names.
  tenant_id   uuid,
  tenant_code text,
  before      jsonb,
  after       jsonb,
  reason      text,
  request_id  text
);
CREATE INDEX IF NOT EXISTS sys_audit_log_at ON public.sys_audit_log (at);
CREATE INDEX IF NOT EXISTS sys_audit_log_plugin ON public.sys_audit_log (plugin_id, id);
CREATE INDEX IF NOT EXISTS sys_audit_log_tenant ON public.sys_audit_log (tenant_id, id);
CREATE INDEX IF NOT EXISTS sys_audit_log_actor ON public.sys_audit_log (actor, id);

CREATE OR REPLACE FUNCTION public.sys_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'sys_audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege', HINT = 'Entries are never changed or removed by the application. To prune old ones, a superuser disables the trigger sys_audit_log_append_only for that transaction.';
END $fn$;

ALTER TABLE public.sys_plugins ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 1;
ALTER TABLE public.sys_plugins ADD COLUMN IF NOT EXISTS updated_by text;
ALTER TABLE public.sys_tenant_plugins ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 1;
ALTER TABLE public.sys_tenant_plugins ADD COLUMN IF NOT EXISTS updated_by text;

-- A row's revision counts its changes; a write that changes nothing leaves it.
CREATE OR REPLACE FUNCTION public.sys_registry_revision() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.revision := 1;
    NEW.updated_by := (SELECT actor FROM public.sys_audit_actor());
  ELSIF (to_jsonb(NEW) - 'revision' - 'updated_at' - 'updated_by') IS DISTINCT FROM (to_jsonb(OLD) - 'revision' - 'updated_at' - 'updated_by') THEN
    NEW.revision := OLD.revision + 1;
    NEW.updated_by := (SELECT actor FROM public.sys_audit_actor());
    NEW.updated_at := now();
  ELSE
    NEW.revision := OLD.revision;
    NEW.updated_by := OLD.updated_by;
  END IF;
  RETURN NEW;
END $fn$;`;

/** `{"field": value}` for each of `fields` that differs between the two rows (`side` is `o` or `n`). */
const changed = (side: 'o' | 'n', fields: [string, string][]) =>
  `(${fields.map(([key, column]) => `CASE WHEN o.${column} IS DISTINCT FROM n.${column} THEN jsonb_build_object('${key}', ${side}.${column}) ELSE '{}'::jsonb END`).join(' || ')})`;

const INSERT_ENTRY = 'INSERT INTO public.sys_audit_log (actor, source, action, plugin_id, tenant_id, tenant_code, before, after, reason, request_id)';

const TENANT_PLUGIN_FIELDS: [string, string][] = [['enabled', 'enabled'], ['version', 'version_installed'], ['config', 'config']];
const PLUGIN_FIELDS: [string, string][] = [['enabledGlobal', 'enabled_global'], ['version', 'version_installed'], ['config', 'config']];

const TRIGGER_FUNCTIONS = /* sql */ `
CREATE OR REPLACE FUNCTION public.sys_audit_tenants() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'tenant.create', NULL, n.id, n.code, NULL,
           jsonb_build_object('code', n.code, 'name', n.name, 'domain', n.domain, 'schema', n.schema_name), a.reason, a.request_id
      FROM new_rows n CROSS JOIN public.sys_audit_actor() a;
  ELSIF TG_OP = 'DELETE' THEN
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'tenant.drop', NULL, o.id, o.code,
           jsonb_build_object('code', o.code, 'name', o.name, 'domain', o.domain, 'schema', o.schema_name), NULL, a.reason, a.request_id
      FROM old_rows o CROSS JOIN public.sys_audit_actor() a;
  ELSE
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'tenant.update', NULL, n.id, n.code,
           ${changed('o', [['code', 'code'], ['name', 'name'], ['domain', 'domain']])}, ${changed('n', [['code', 'code'], ['name', 'name'], ['domain', 'domain']])}, a.reason, a.request_id
      FROM old_rows o JOIN new_rows n ON n.id = o.id CROSS JOIN public.sys_audit_actor() a
     WHERE (o.code, o.name, o.domain) IS DISTINCT FROM (n.code, n.name, n.domain);
  END IF;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION public.sys_audit_plugins() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'plugin.install', n.plugin_id, NULL, NULL, NULL,
           jsonb_build_object('enabledGlobal', n.enabled_global, 'version', n.version_installed), a.reason, a.request_id
      FROM new_rows n CROSS JOIN public.sys_audit_actor() a;
  ELSIF TG_OP = 'DELETE' THEN
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'plugin.remove', o.plugin_id, NULL, NULL,
           jsonb_build_object('enabledGlobal', o.enabled_global, 'version', o.version_installed), NULL, a.reason, a.request_id
      FROM old_rows o CROSS JOIN public.sys_audit_actor() a;
  ELSE
    ${INSERT_ENTRY}
    SELECT a.actor, a.source,
           CASE WHEN o.enabled_global IS DISTINCT FROM n.enabled_global THEN CASE WHEN n.enabled_global THEN 'plugin.global.enable' ELSE 'plugin.global.disable' END
                WHEN o.config IS DISTINCT FROM n.config THEN 'plugin.config'
                ELSE 'plugin.version' END,
           n.plugin_id, NULL, NULL, ${changed('o', PLUGIN_FIELDS)}, ${changed('n', PLUGIN_FIELDS)}, a.reason, a.request_id
      FROM old_rows o JOIN new_rows n ON n.plugin_id = o.plugin_id CROSS JOIN public.sys_audit_actor() a
     WHERE (o.enabled_global, o.version_installed, o.config) IS DISTINCT FROM (n.enabled_global, n.version_installed, n.config);
  END IF;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION public.sys_audit_tenant_plugins() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'plugin.install', n.plugin_id, n.tenant_id, t.code, NULL,
           jsonb_build_object('enabled', n.enabled, 'version', n.version_installed), a.reason, a.request_id
      FROM new_rows n LEFT JOIN public.sys_tenant t ON t.id = n.tenant_id CROSS JOIN public.sys_audit_actor() a;
  ELSIF TG_OP = 'DELETE' THEN
    -- Rows that go with their tenant are the tenant's drop, logged once as such.
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'plugin.uninstall', o.plugin_id, o.tenant_id, t.code,
           jsonb_build_object('enabled', o.enabled, 'version', o.version_installed), NULL, a.reason, a.request_id
      FROM old_rows o JOIN public.sys_tenant t ON t.id = o.tenant_id CROSS JOIN public.sys_audit_actor() a;
  ELSE
    ${INSERT_ENTRY}
    SELECT a.actor, a.source,
           CASE WHEN o.enabled IS DISTINCT FROM n.enabled THEN CASE WHEN n.enabled THEN 'plugin.enable' ELSE 'plugin.disable' END
                WHEN o.config IS DISTINCT FROM n.config THEN 'plugin.config'
                ELSE 'plugin.version' END,
           n.plugin_id, n.tenant_id, t.code, ${changed('o', TENANT_PLUGIN_FIELDS)}, ${changed('n', TENANT_PLUGIN_FIELDS)}, a.reason, a.request_id
      FROM old_rows o JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.plugin_id = o.plugin_id
      LEFT JOIN public.sys_tenant t ON t.id = n.tenant_id CROSS JOIN public.sys_audit_actor() a
     WHERE (o.enabled, o.version_installed, o.config) IS DISTINCT FROM (n.enabled, n.version_installed, n.config);
  END IF;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION public.sys_audit_role_permissions() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'role.grant', p.plugin_id, r.tenant_id, t.code, NULL,
           jsonb_build_object('role', r.key, 'permission', n.permission), a.reason, a.request_id
      FROM new_rows n JOIN public.sys_role r ON r.id = n.role_id JOIN public.sys_tenant t ON t.id = r.tenant_id
      LEFT JOIN public.sys_permission p ON p.permission = n.permission CROSS JOIN public.sys_audit_actor() a;
  ELSE
    -- Grants that go with their role (or its tenant) are not logged one by one.
    ${INSERT_ENTRY}
    SELECT a.actor, a.source, 'role.revoke', p.plugin_id, r.tenant_id, t.code,
           jsonb_build_object('role', r.key, 'permission', o.permission), NULL, a.reason, a.request_id
      FROM old_rows o JOIN public.sys_role r ON r.id = o.role_id JOIN public.sys_tenant t ON t.id = r.tenant_id
      LEFT JOIN public.sys_permission p ON p.permission = o.permission CROSS JOIN public.sys_audit_actor() a;
  END IF;
  RETURN NULL;
END $fn$;`;

/**
 * DDL that creates trigger `name` on `table` only when missing: creating a trigger locks its table
 * (see data/changes.ts). For the other files of system DDL that log to the audit log.
 */
export function createTrigger(table: string, name: string, definition: string): string {
  return /* sql */ `
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = '${name}' AND tgrelid = 'public.${table}'::regclass) THEN
    CREATE TRIGGER ${name} ${definition};
  END IF;
END $$;`;
}

const AUDITED: [table: string, fn: string, events: ('insert' | 'update' | 'delete')[]][] = [
  ['sys_tenant', 'sys_audit_tenants', ['insert', 'update', 'delete']],
  ['sys_plugins', 'sys_audit_plugins', ['insert', 'update', 'delete']],
  ['sys_tenant_plugins', 'sys_audit_tenant_plugins', ['insert', 'update', 'delete']],
  ['sys_role_permission', 'sys_audit_role_permissions', ['insert', 'delete']],
];

const TRANSITIONS = {
  insert: 'AFTER INSERT ON public.%t REFERENCING NEW TABLE AS new_rows',
  update: 'AFTER UPDATE ON public.%t REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows',
  delete: 'AFTER DELETE ON public.%t REFERENCING OLD TABLE AS old_rows',
};

const TRIGGERS = [
  createTrigger('sys_audit_log', 'sys_audit_log_append_only', 'BEFORE UPDATE OR DELETE ON public.sys_audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.sys_audit_log_append_only()'),
  createTrigger('sys_audit_log', 'sys_audit_log_no_truncate', 'BEFORE TRUNCATE ON public.sys_audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.sys_audit_log_append_only()'),
  ...['sys_plugins', 'sys_tenant_plugins'].map((table) =>
    createTrigger(table, `${table}_revision`, `BEFORE INSERT OR UPDATE ON public.${table} FOR EACH ROW EXECUTE FUNCTION public.sys_registry_revision()`)),
  ...AUDITED.flatMap(([table, fn, events]) => events.map((event) =>
    createTrigger(table, `${table}_audit_${event}`, `${TRANSITIONS[event].replace('%t', table)} FOR EACH STATEMENT EXECUTE FUNCTION public.${fn}()`))),
].join('\n');

/** The audit log's DDL, run with the system schema's (after the tables it watches). */
export const AUDIT_DDL = [ACTOR_FUNCTION, TABLE, TRIGGER_FUNCTIONS, TRIGGERS].join('\n');
