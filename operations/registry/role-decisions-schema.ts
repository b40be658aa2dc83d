/**
 * What tenants decided about plugins' role templates (role-templates.ts): applied or declined, per
 * tenant, role and template version; each decision logged in the audit log. It imports only DDL
 * (audit-schema.ts, which imports nothing), so that the system schema can take it in any order.
 */
import { createTrigger } from '../audit/audit-schema.ts';

export const ROLE_DECISIONS_DDL = /* sql */ `
CREATE TABLE IF NOT EXISTS public.sys_role_template_decisions (
  tenant_id  uuid NOT NULL REFERENCES public.sys_tenant(id) ON DELETE CASCADE,
  plugin_id  text NOT NULL,
  role_key   text NOT NULL,
  version    text NOT NULL,
  decision   text NOT NULL CHECK (decision IN ('applied', 'declined')),
  decided_by text NOT NULL,
  decided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, plugin_id, role_key, version)
);

CREATE OR REPLACE FUNCTION public.sys_audit_role_decisions() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO public.sys_audit_log (actor, source, action, plugin_id, tenant_id, tenant_code, before, after, reason, request_id)
  SELECT a.actor, a.source, 'role-template.' || CASE WHEN n.decision = 'applied' THEN 'apply' ELSE 'decline' END, n.plugin_id, n.tenant_id, t.code,
         NULL, jsonb_build_object('role', n.role_key, 'version', n.version), a.reason, a.request_id
    FROM new_rows n JOIN public.sys_tenant t ON t.id = n.tenant_id CROSS JOIN public.sys_audit_actor() a;
  RETURN NULL;
END $fn$;

${createTrigger('sys_role_template_decisions', 'sys_role_template_decisions_audit', 'AFTER INSERT ON public.sys_role_template_decisions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.sys_audit_role_decisions()')}
${createTrigger('sys_role_template_decisions', 'sys_role_template_decisions_audit_update', 'AFTER UPDATE ON public.sys_role_template_decisions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.sys_audit_role_decisions()')}`;
