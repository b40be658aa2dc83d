/**
 * `GET /plugins/:id/migrations`: what `migrate up` would run for a plugin (its dry run), from the
 * same plan: the public schema's files and, per tenant, how many tenants each pending file waits
 * in and which are blocked and why; with `?tenant=<code>`, that tenant's files with their SQL.
 * Running them is a job (`POST /jobs` with `kind: "migrate"`).
 */
import express, { type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import { HttpError } from '../../foundation-lib/http-error.ts';
import { planUp, type ModuleMigrations, type TargetWork } from '../../operations/migrations/plan.ts';
import { findTenants } from '../../operations/registry/enablement.ts';
import { HOST_PERMISSIONS } from '../../rules/index.ts';
import { requirePermission, type AdminAccess } from '../access.ts';
import { readQuery, rules } from '../request-input.ts';

const fileOf = (work: TargetWork, withSql: boolean) => work.files.map((file) => ({
  scope: work.target.scope, name: file.name, noTransaction: file.noTransaction, checksum: file.checksum, ...(withSql ? { sql: file.sql } : {}),
}));

export function migrationRoutes(pool: pg.Pool, modules: ModuleMigrations[], access: AdminAccess): Router {
  const router = express.Router();
  router.get('/plugins/:id/migrations', requirePermission(access, HOST_PERMISSIONS.pluginsRead), async (req: Request<{ id: string }>, res: Response) => {
    const query = readQuery(req, { tenant: rules.tenantCode });
    const problem = rules.pluginId(req.params.id);
    if (problem) throw new HttpError(400, 'INVALID_PLUGIN_ID', `${JSON.stringify(req.params.id.slice(0, 64))} ${problem}.`);
    const module = modules.find((m) => m.id === req.params.id);
    if (!module) throw new HttpError(404, 'PLUGIN_NOT_FOUND', `This host runs no plugin "${req.params.id}".`, { pluginId: req.params.id });
    if (query.tenant !== undefined && (await findTenants(pool, [query.tenant])).tenants.length === 0) {
      throw new HttpError(404, 'TENANT_NOT_FOUND', `No tenant has the code "${query.tenant}".`, { tenant: query.tenant });
    }
    const plan = await planUp(pool, [module], { plugins: [module.id], tenants: query.tenant === undefined ? undefined : [query.tenant] });
    const publicWork = plan.work.find((w) => w.target.scope === 'public');
    const tenantWork = plan.work.filter((w) => w.target.scope === 'tenant');
    const waiting = new Map<string, number>();
    for (const work of tenantWork) for (const file of work.files) waiting.set(file.name, (waiting.get(file.name) ?? 0) + 1);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      pluginId: module.id, version: module.version,
      public: { files: publicWork ? fileOf(publicWork, true) : [], blocked: publicWork?.blocked ? { reason: publicWork.blocked.reason, message: publicWork.blocked.message } : null },
      tenants: {
        total: plan.tenants.length, withWork: tenantWork.length, blocked: tenantWork.filter((w) => w.blocked).length,
        files: module.files.tenant.filter((f) => waiting.has(f.name)).map((f) => ({ name: f.name, tenants: waiting.get(f.name)!, noTransaction: f.noTransaction, sql: f.sql })),
      },
      ...(query.tenant === undefined ? {} : {
        tenant: {
          code: query.tenant,
          files: tenantWork[0] ? fileOf(tenantWork[0], true) : [],
          blocked: tenantWork[0]?.blocked ? { reason: tenantWork[0].blocked.reason, message: tenantWork[0].blocked.message } : null,
        },
      }),
    });
  });
  return router;
}
