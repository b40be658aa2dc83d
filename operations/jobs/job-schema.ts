/**
 * Bulk changes and migration runs as jobs that outlive the process running them: the job (what,
 * over which tenants, in which waves, its status) and one row per tenant (its state). A process
 * works on a job while it holds its lease; a lease left to expire (the process killed) is taken
 * over and the job goes on from its rows. Created, paused, resumed, cancelled and finished jobs
 * are logged in the audit log, and announced on the change channel (data/changes.ts), so that
 * idle workers look for work only when there may be some.
 */

import { createTrigger } from '../audit/audit-schema.ts';

export const JOBS_DDL = /* sql */ `
CREATE TABLE IF NOT EXISTS public.sys_admin_jobs (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind         text NOT NULL CHECK (kind IN ('enable', 'disable', 'migrate', 'roles')),
  plugin_id    text NOT NULL,
  status       text NOT NULL CHECK (status IN ('running', 'paused', 'cancelled', 'done')),
  -- Cumulative shares of the tenants, in percent, each wave finishing before the next starts.
  waves        integer[] NOT NULL,
  concurrency  integer NOT NULL,
  guardrail    jsonb,
  pause_reason text,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  lease_owner  text,
  lease_until  timestamptz,
  -- Increases with every change of the job or its targets: the Server-Sent Events' id.
  seq          bigint NOT NULL DEFAULT 1,
  -- How many times its failed tenants were sent back to work.
  retries      integer NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS public.sys_admin_job_targets (
  job_id      uuid NOT NULL REFERENCES public.sys_admin_jobs(id) ON DELETE CASCADE,
  tenant_id   uuid NOT NULL,
  tenant_code text NOT NULL,
  position    integer NOT NULL,
  wave        integer NOT NULL,
  state       text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
  attempts    integer NOT NULL DEFAULT 0,
  error       text,
  started_at  timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (job_id, tenant_id)
);
CREATE INDEX IF NOT EXISTS sys_admin_job_targets_next ON public.sys_admin_job_targets (job_id, state, wave, position);

CREATE OR REPLACE FUNCTION public.sys_audit_jobs() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  -- Every process's worker learns that there may be work (data/changes.ts: kind jobs): when a job
  -- comes or its status changes, not for a lease taken or renewed (a statement trigger fires for
  -- no rows too, and a worker's look is such an UPDATE: notifying then would wake it again).
  -- (Each transition table is named only in the branch of its event: PL/pgSQL plans a whole condition.)
  IF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM new_rows) THEN PERFORM pg_catalog.pg_notify('foundation_changes', '{"kind":"jobs"}'); END IF;
  ELSIF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status OR o.retries <> n.retries) THEN
    PERFORM pg_catalog.pg_notify('foundation_changes', '{"kind":"jobs"}');
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO public.sys_audit_log (actor, source, action, plugin_id, before, after, reason, request_id)
    SELECT a.actor, a.source, 'job.create', n.plugin_id, NULL,
           jsonb_build_object('job', n.id, 'kind', n.kind, 'waves', n.waves, 'guardrail', n.guardrail), a.reason, a.request_id
      FROM new_rows n CROSS JOIN public.sys_audit_actor() a;
  ELSE
    INSERT INTO public.sys_audit_log (actor, source, action, plugin_id, before, after, reason, request_id)
    SELECT a.actor, a.source,
           'job.' || CASE WHEN n.retries <> o.retries THEN 'retry' WHEN n.status = 'running' AND o.status = 'paused' THEN 'resume' WHEN n.status = 'paused' THEN 'pause'
                          WHEN n.status = 'cancelled' THEN 'cancel' WHEN n.status = 'done' THEN 'done' ELSE 'running' END,
           n.plugin_id, jsonb_build_object('job', o.id, 'status', o.status), jsonb_build_object('job', n.id, 'status', n.status),
           coalesce(n.pause_reason, a.reason), a.request_id
      FROM old_rows o JOIN new_rows n ON n.id = o.id CROSS JOIN public.sys_audit_actor() a
     WHERE o.status IS DISTINCT FROM n.status OR o.retries <> n.retries;
  END IF;
  RETURN NULL;
END $fn$;

${createTrigger('sys_admin_jobs', 'sys_admin_jobs_audit_insert', 'AFTER INSERT ON public.sys_admin_jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.sys_audit_jobs()')}
${createTrigger('sys_admin_jobs', 'sys_admin_jobs_audit_update', 'AFTER UPDATE ON public.sys_admin_jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.sys_audit_jobs()')}`;
