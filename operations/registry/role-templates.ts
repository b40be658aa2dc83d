/**
 * Role templates (design notes, seed 004): a plugin suggests roles (`INVENTORY_MANAGER` with
 * these permissions); roles belong to tenants, and nothing changes a tenant's role without an
 * explicit apply. For each tenant role whose key a template of the plugin's version names, the
 * diff is what the template grants that the role does not (`INVENTORY_MANAGER: + inventory.reconcile`),
 * with how many users hold the role. Applying grants those permissions; declining is remembered
 * (per tenant, role and template version), so the suggestion is not proposed again for that
 * version. Both are logged: the grants by the audit triggers, the decisions by role-decisions-schema.ts.
 */
import type pg from 'pg';
import { inTransaction } from '../../sandbox/data/database.ts';
import { ensureSystemSchemaLocked } from '../../sandbox/data/system-schema.ts';

export interface RoleDiff {
  tenant: string;
  role: string;
  displayName: string;
  /** The template's plugin version. */
  version: string;
  /** What the template grants that the role lacks. */
  add: string[];
  /** Users holding the role in the tenant. */
  users: number;
  /** `declined`: declined for this version, not proposed again (listed only when asked). */
  state: 'proposed' | 'declined';
}

export class RoleTemplateError extends Error {
  override name = 'RoleTemplateError';
}

/** The version whose templates apply: the plugin's installed one, else (not yet everywhere) the newest recorded. */
async function templateVersion(db: pg.Pool | pg.ClientBase, pluginId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ version: string }>(
    `SELECT CASE WHEN p.version_installed <> '0.0.0' AND EXISTS (SELECT 1 FROM public.sys_plugin_role_templates r WHERE r.plugin_id = p.plugin_id AND r.version = p.version_installed)
                 THEN p.version_installed
                 ELSE (SELECT r.version FROM public.sys_plugin_role_templates r WHERE r.plugin_id = p.plugin_id
                        ORDER BY string_to_array(regexp_replace(r.version, '[^0-9.].*$', ''), '.')::int[] DESC LIMIT 1) END AS version
       FROM public.sys_plugins p WHERE p.plugin_id = $1`, [pluginId]);
  return rows[0]?.version ?? undefined;
}

/**
 * The diffs of `pluginId`'s templates against its tenants' roles (those named, else every one),
 * by tenant code and role key. Declined ones are left out unless `includeDeclined`.
 */
export async function roleTemplateDiffs(db: pg.Pool | pg.ClientBase, pluginId: string, { tenants, includeDeclined = false }: { tenants?: string[]; includeDeclined?: boolean } = {}): Promise<RoleDiff[]> {
  const version = await templateVersion(db, pluginId);
  if (version === undefined) return [];
  const { rows } = await db.query<RoleDiff>(
    `SELECT t.code AS tenant, r.key AS role, tpl.display_name AS "displayName", tpl.version,
            array(SELECT p FROM unnest(tpl.permissions) p
                   WHERE NOT EXISTS (SELECT 1 FROM public.sys_role_permission g WHERE g.role_id = r.id AND g.permission = p) ORDER BY p) AS add,
            (SELECT count(*)::int FROM public.sys_user_role ur WHERE ur.role_id = r.id) AS users,
            CASE WHEN d.decision = 'declined' THEN 'declined' ELSE 'proposed' END AS state
       FROM public.sys_plugin_role_templates tpl
       JOIN public.sys_role r ON r.key = tpl.role_key
       JOIN public.sys_tenant t ON t.id = r.tenant_id
       LEFT JOIN public.sys_role_template_decisions d ON d.tenant_id = t.id AND d.plugin_id = tpl.plugin_id AND d.role_key = tpl.role_key AND d.version = tpl.version
      WHERE tpl.plugin_id = $1 AND tpl.version = $2 AND ($3::text[] IS NULL OR t.code = ANY($3::text[]))
      ORDER BY t.code, r.key`, [pluginId, version, tenants ?? null]);
  return rows.filter((diff) => diff.add.length > 0 && (includeDeclined || diff.state === 'proposed'));
}

/** Grants the role what the template adds (now, not as the diff was read); records the decision. @returns what was granted */
export async function applyRoleTemplate(pool: pg.Pool, pluginId: string, tenantCode: string, roleKey: string, decidedBy: string): Promise<string[]> {
  return decide(pool, pluginId, tenantCode, roleKey, decidedBy, 'applied');
}

/** Remembers that the tenant declined the template's suggestion for this role and version. */
export async function declineRoleTemplate(pool: pg.Pool, pluginId: string, tenantCode: string, roleKey: string, decidedBy: string): Promise<void> {
  await decide(pool, pluginId, tenantCode, roleKey, decidedBy, 'declined');
}

async function decide(pool: pg.Pool, pluginId: string, tenantCode: string, roleKey: string, decidedBy: string, decision: 'applied' | 'declined'): Promise<string[]> {
  await ensureSystemSchemaLocked(pool);
  const client = await pool.connect();
  try {
    return await inTransaction(client, async () => {
      const version = await templateVersion(client, pluginId);
      const { rows: [found] } = await client.query<{ role_id: string; tenant_id: string; permissions: string[] }>(
        `SELECT r.id AS role_id, t.id AS tenant_id, tpl.permissions FROM public.sys_tenant t
           JOIN public.sys_role r ON r.tenant_id = t.id AND r.key = $3
           JOIN public.sys_plugin_role_templates tpl ON tpl.plugin_id = $1 AND tpl.role_key = r.key AND tpl.version = $4
          WHERE t.code = $2 FOR UPDATE OF r`, [pluginId, tenantCode, roleKey, version ?? '']);
      if (!found) throw new RoleTemplateError(`Plugin ${pluginId} has no role template for a role ${roleKey} of tenant ${tenantCode} (the tenant has no such role, or the plugin's templates do not name it).`);
      let granted: string[] = [];
      if (decision === 'applied') {
        const { rows } = await client.query<{ permission: string }>(
          `INSERT INTO public.sys_role_permission (role_id, permission) SELECT $1, p FROM unnest($2::text[]) p
             WHERE EXISTS (SELECT 1 FROM public.sys_permission c WHERE c.permission = p)
           ON CONFLICT DO NOTHING RETURNING permission`, [found.role_id, found.permissions]);
        granted = rows.map((r) => r.permission).sort();
      }
      await client.query(
        `INSERT INTO public.sys_role_template_decisions (tenant_id, plugin_id, role_key, version, decision, decided_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, plugin_id, role_key, version) DO UPDATE SET decision = EXCLUDED.decision, decided_by = EXCLUDED.decided_by, decided_at = now()`,
        [found.tenant_id, pluginId, roleKey, version, decision, decidedBy]);
      return granted;
    });
  } finally {
    client.release();
  }
}
