/**
 * Role templates: `GET /plugins/:id/role-templates` (for each tenant role a template of the
 * plugin names, what the template would add, how many users hold the role), `POST …/apply` and
 * `POST …/decline` for one tenant's role. Across many tenants, apply is a job (`kind: "roles"`).
 * Nothing changes a tenant's roles but an apply.
 */
import express, { type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import { HttpError } from '../../foundation-lib/http-error.ts';
import { applyRoleTemplate, declineRoleTemplate, roleTemplateDiffs, RoleTemplateError } from '../../operations/registry/role-templates.ts';
import { HOST_PERMISSIONS } from '../../rules/index.ts';
import { currentActor } from '../../sandbox/data/transaction-actor.ts';
import { requirePermission, type AdminAccess } from '../access.ts';
import { readBody, readQuery, rules } from '../request-input.ts';

const ROLE_KEY = /^[A-Z][A-Z0-9_]{0,62}$/;

export function roleRoutes(pool: pg.Pool, pluginIds: string[], access: AdminAccess): Router {
  const router = express.Router();
  const pluginOf = (id: string) => {
    const problem = rules.pluginId(id);
    if (problem) throw new HttpError(400, 'INVALID_PLUGIN_ID', `${JSON.stringify(id.slice(0, 64))} ${problem}.`);
    if (!pluginIds.includes(id)) throw new HttpError(404, 'PLUGIN_NOT_FOUND', `This host runs no plugin "${id}".`, { pluginId: id });
    return id;
  };

  router.get('/plugins/:id/role-templates', requirePermission(access, HOST_PERMISSIONS.pluginsRead), async (req: Request<{ id: string }>, res: Response) => {
    const query = readQuery(req, { tenant: rules.tenantCode, declined: rules.oneOf('true', 'false') });
    const diffs = await roleTemplateDiffs(pool, pluginOf(req.params.id), { tenants: query.tenant === undefined ? undefined : [query.tenant], includeDeclined: query.declined === 'true' });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ diffs });
  });

  for (const action of ['apply', 'decline'] as const) {
    router.post(`/plugins/:id/role-templates/${action}`, requirePermission(access, HOST_PERMISSIONS.rolesApply), async (req: Request<{ id: string }>, res: Response) => {
      const pluginId = pluginOf(req.params.id);
      const { tenant, role } = readBody(req, { tenant: { type: 'string', required: true, max: 40 }, role: { type: 'string', required: true, max: 63 } });
      if (rules.tenantCode(tenant!)) throw new HttpError(400, 'INVALID_BODY', `Field tenant ${rules.tenantCode(tenant!)}.`, { field: 'tenant' });
      if (!ROLE_KEY.test(role!)) throw new HttpError(400, 'INVALID_BODY', 'Field role must be a role key in UPPER_SNAKE_CASE.', { field: 'role' });
      try {
        if (action === 'apply') res.json({ pluginId, tenant, role, granted: await applyRoleTemplate(pool, pluginId, tenant!, role!, currentActor()!.actor) });
        else {
          await declineRoleTemplate(pool, pluginId, tenant!, role!, currentActor()!.actor);
          res.json({ pluginId, tenant, role, declined: true });
        }
      } catch (error) {
        throw error instanceof RoleTemplateError ? new HttpError(404, 'ROLE_TEMPLATE_NOT_FOUND', error.message) : error;
      }
    });
  }
  return router;
}
