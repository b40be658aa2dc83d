/**
 * The host's own tables in `public`: tenants, RBAC, and the plugin registries (seed 004).
 * Written as CREATE … IF NOT EXISTS so running it again changes nothing. Tenant data never
 * lives here, and module tables never live anywhere else than in tenant schemas.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { AUDIT_DDL } from '../../operations/audit/audit-schema.ts';
import { JOBS_DDL } from '../../operations/jobs/job-schema.ts';
import { ROLE_DECISIONS_DDL } from '../../operations/registry/role-decisions-schema.ts';
import { CHANGE_TRIGGERS } from './changes.ts';
import { inTransaction } from './database.ts';

export const SYSTEM_TABLES = [
  'sys_tenant', 'sys_user', 'sys_role', 'sys_permission', 'sys_role_permission', 'sys_user_role',
  'sys_plugins', 'sys_tenant_plugins', 'sys_plugin_migrations', 'sys_plugin_role_templates',
  'sys_migration_runs', 'sys_migration_run_targets', 'sys_migration_quarantine', 'sys_tenant_plugin_uninstalls',
  'sys_audit_log', 'sys_admin_jobs', 'sys_admin_job_targets', 'sys_role_template_decisions',
] as const;

const DDL = /* sql */ `
CREATE TABLE IF NOT EXISTS public.sys_tenant (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9-]{0,39}$'),
  name        text NOT NULL,
  domain      text UNIQUE,
  schema_name text NOT NULL UNIQUE CHECK (schema_name ~ '^[a-z_][a-z0-9_]{0,62}$' AND schema_name !~ '^pg_'),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.sys_user (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email      text NOT NULL UNIQUE,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Roles belong to tenants; plugins never create or change them.
CREATE TABLE IF NOT EXISTS public.sys_role (
  id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES public.sys_tenant(id) ON DELETE CASCADE,
  key       text NOT NULL,
  name      text NOT NULL,
  UNIQUE (tenant_id, key)
);

-- The permission catalog, fed by the plugins' declared permissions.
CREATE TABLE IF NOT EXISTS public.sys_permission (
  permission text PRIMARY KEY,
  plugin_id  text NOT NULL
);

CREATE TABLE IF NOT EXISTS public.sys_role_permission (
  role_id    uuid NOT NULL REFERENCES public.sys_role(id) ON DELETE CASCADE,
  permission text NOT NULL REFERENCES public.sys_permission(permission) ON DELETE CASCADE,
  PRIMARY KEY (role_id, permission)
);

CREATE TABLE IF NOT EXISTS public.sys_user_role (
  user_id uuid NOT NULL REFERENCES public.sys_user(id) ON DELETE CASCADE,
  role_id uuid NOT NULL REFERENCES public.sys_role(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, role_id)
);

CREATE TABLE IF NOT EXISTS public.sys_plugins (
  plugin_id         text PRIMARY KEY,
  api_version       text NOT NULL,
  version_installed text NOT NULL,
  enabled_global    boolean NOT NULL DEFAULT false,
  config            jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.sys_tenant_plugins (
  tenant_id         uuid NOT NULL REFERENCES public.sys_tenant(id) ON DELETE CASCADE,
  plugin_id         text NOT NULL REFERENCES public.sys_plugins(plugin_id),
  enabled           boolean NOT NULL DEFAULT false,
  version_installed text NOT NULL,
  config            jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, plugin_id)
);

DO $$ BEGIN
  CREATE TYPE public.plugin_scope AS ENUM ('public', 'tenant');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS public.sys_plugin_migrations (
  id         bigserial PRIMARY KEY,
  plugin_id  text NOT NULL REFERENCES public.sys_plugins(plugin_id),
  scope      public.plugin_scope NOT NULL,
  tenant_id  uuid REFERENCES public.sys_tenant(id) ON DELETE CASCADE,
  name       text NOT NULL,
  version    text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((scope = 'public') = (tenant_id IS NULL))
);
-- NULLS NOT DISTINCT (PostgreSQL 15+) so a public-scope migration is recorded once, not once per NULL.
CREATE UNIQUE INDEX IF NOT EXISTS sys_plugin_migrations_once
  ON public.sys_plugin_migrations (plugin_id, scope, tenant_id, name) NULLS NOT DISTINCT;

-- Added after the first release: the checksum's algorithm, and which run applied the file.
ALTER TABLE public.sys_plugin_migrations ADD COLUMN IF NOT EXISTS checksum_algorithm text NOT NULL DEFAULT 'sha256';
ALTER TABLE public.sys_plugin_migrations ADD COLUMN IF NOT EXISTS run_id uuid;
ALTER TABLE public.sys_plugin_migrations ADD COLUMN IF NOT EXISTS execution_ms integer;

-- The migration runner's journal (operations/migrations/journal.ts): one row per run, one per
-- (run, plugin, schema) it worked on, and the (plugin, schema) pairs that keep failing.
CREATE TABLE IF NOT EXISTS public.sys_migration_runs (
  run_id      uuid PRIMARY KEY,
  command     text NOT NULL,
  args        jsonb NOT NULL,
  status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  host        text NOT NULL,
  pid         integer NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

CREATE TABLE IF NOT EXISTS public.sys_migration_run_targets (
  run_id      uuid NOT NULL REFERENCES public.sys_migration_runs(run_id) ON DELETE CASCADE,
  plugin_id   text NOT NULL,
  schema_name text NOT NULL,
  tenant_id   uuid,
  state       text NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'locked', 'skipped')),
  applied     text[] NOT NULL DEFAULT '{}',
  file        text,
  error       text,
  sql_state   text,
  started_at  timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (run_id, plugin_id, schema_name)
);

CREATE TABLE IF NOT EXISTS public.sys_migration_quarantine (
  plugin_id      text NOT NULL,
  schema_name    text NOT NULL,
  tenant_id      uuid,
  failures       integer NOT NULL,
  file           text,
  error          text,
  sql_state      text,
  run_id         uuid,
  quarantined_at timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plugin_id, schema_name)
);

CREATE TABLE IF NOT EXISTS public.sys_plugin_role_templates (
  plugin_id    text NOT NULL,
  role_key     text NOT NULL,
  display_name text NOT NULL,
  permissions  text[] NOT NULL,
  version      text NOT NULL,
  PRIMARY KEY (plugin_id, role_key, version)
);

-- A plugin uninstalled from a tenant stays so: the runner, the sandbox's start and its taking on
-- of tenants leave the pair alone until \`plugins enable --tenant\` installs it again.
CREATE TABLE IF NOT EXISTS public.sys_tenant_plugin_uninstalls (
  tenant_id      uuid NOT NULL REFERENCES public.sys_tenant(id) ON DELETE CASCADE,
  plugin_id      text NOT NULL,
  data_dropped   boolean NOT NULL,
  uninstalled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, plugin_id)
);
${CHANGE_TRIGGERS}
${AUDIT_DDL}
${JOBS_DDL}
${ROLE_DECISIONS_DDL}`;

/**
 * Rules added after the first release, as named constraints so that a database made by an older
 * kit gains them too (the tables above are only created when missing). NOT VALID: they hold for
 * every row written from now on without refusing to start on older rows (tenant lookups are typed,
 * so an older uuid-shaped code is merely unreachable by code). Mirrors rules/tenant.ts and rules/user.ts.
 */
const CONSTRAINTS: { table: string; name: string; check: string }[] = [
  // PostgreSQL reads 32 hex digits, with or without dashes, as a uuid: a code must never pass for an id.
  { table: 'sys_tenant', name: 'sys_tenant_code_not_uuid', check: `replace(code, '-', '') !~ '^[0-9a-f]{32}$'` },
  { table: 'sys_tenant', name: 'sys_tenant_schema_not_reserved', check: `schema_name NOT IN ('public', 'information_schema')` },
  { table: 'sys_user', name: 'sys_user_email_shape', check: `email = lower(email) AND email ~ '^[^[:space:]@]+@[^[:space:]@]+$' AND length(email) <= 254` },
];

const ADD_CONSTRAINTS = CONSTRAINTS.map(({ table, name, check }) => /* sql */ `
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '${name}' AND conrelid = 'public.${table}'::regclass) THEN
    ALTER TABLE public.${table} ADD CONSTRAINT ${name} CHECK (${check}) NOT VALID;
  END IF;
END $$;`).join('\n');

/**
 * The fingerprint of this file's DDL, kept as the comment of `sys_tenant`. A database whose
 * comment matches is current, and
 * ensuring it then takes no lock: `ALTER TABLE … IF NOT EXISTS` takes an ACCESS EXCLUSIVE lock even
 * when there is nothing to do, which deadlocks against a migration runner writing the ledger.
 */
const SCHEMA_FINGERPRINT = createHash('sha256').update(DDL + ADD_CONSTRAINTS).digest('hex').slice(0, 16);

/** Whether the system tables are those of this kit version (one read; false when there are none). */
export async function systemSchemaIsCurrent(db: pg.Pool | pg.ClientBase): Promise<boolean> {
  // No error when the table is missing (to_regclass gives NULL): safe inside a caller's transaction.
  const { rows } = await db.query<{ comment: string | null }>(`SELECT obj_description(to_regclass('public.sys_tenant'), 'pg_class') AS comment`);
  return rows[0]?.comment === FINGERPRINT_COMMENT;
}

const FINGERPRINT_COMMENT = `create-foundation-module system schema ${SCHEMA_FINGERPRINT}`;

/**
 * Advisory lock key held while the system tables are created or changed: concurrent
 * `CREATE TABLE IF NOT EXISTS` can still collide in the catalog. The bytes of "fmboot".
 */
export const SYSTEM_SCHEMA_LOCK_KEY = 0x666d626f6f74n;

/**
 * ensureSystemSchema under SYSTEM_SCHEMA_LOCK_KEY, in a transaction of its own on a connection of
 * its own. The lock is the transaction's: behind a transaction pooler (PgBouncer), a session-level
 * lock would stay on whichever server connection took it, held for ever by a session nobody owns.
 */
export async function ensureSystemSchemaLocked(pool: pg.Pool): Promise<void> {
  if (await systemSchemaIsCurrent(pool)) return;
  const client = await pool.connect();
  try {
    await inTransaction(client, async () => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SYSTEM_SCHEMA_LOCK_KEY.toString()]);
      await ensureSystemSchema(client);
    });
  } finally {
    client.release();
  }
}

/** Creates whatever system table or rule is missing; the caller holds SYSTEM_SCHEMA_LOCK_KEY. */
export async function ensureSystemSchema(client: pg.ClientBase): Promise<void> {
  if (await systemSchemaIsCurrent(client)) return;
  await client.query(`${DDL}${ADD_CONSTRAINTS}\nCOMMENT ON TABLE public.sys_tenant IS '${FINGERPRINT_COMMENT}';`);
}
