/**
 * Plugins and their state per tenant: `GET /plugins` (each plugin this host runs: installed and
 * available version, the kill switch, counts), `GET /tenants` (plugins × tenants, filtered and
 * paged in SQL), and the versioned writes: `PUT /plugins/:id/tenants/:code` (enable or disable
 * for one tenant) and `PUT /plugins/:id/kill-switch` (global, with a reason). A write names the
 * revision it read (`If-Match`); on a row changed since, it is refused 409 naming who and when.
 */
import express, { type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import type { ModuleMigrations } from '../../operations/migrations/plan.ts';
import { disablePlugin, enablePlugin, EnablementError, findTenants, pluginsOverview, type TenantRef } from '../../operations/registry/enablement.ts';
import { readRevision, StaleWriteError, type RowRevision } from '../../operations/registry/revisions.ts';
import { MAX_GRID_PAGE, readTenantGrid } from '../../operations/registry/tenant-grid.ts';
import { HttpError } from '../../foundation-lib/http-error.ts';
import { HOST_PERMISSIONS } from '../../rules/index.ts';
import { actAs, currentActor } from '../../sandbox/data/transaction-actor.ts';
import { requirePermission, type AdminAccess } from '../access.ts';
import { staleWriteAnswer } from '../refusals.ts';
import { etag, readBody, readIfMatch, readQuery, rules } from '../request-input.ts';

export function pluginRoutes(pool: pg.Pool, modules: ModuleMigrations[], access: AdminAccess): Router {
  const router = express.Router();
  const ids = modules.map((m) => m.id);
  const moduleOf = (id: string) => {
    const problem = rules.pluginId(id);
    if (problem) throw new HttpError(400, 'INVALID_PLUGIN_ID', `${JSON.stringify(id.slice(0, 64))} ${problem}.`);
    const module = modules.find((m) => m.id === id);
    if (!module) throw new HttpError(404, 'PLUGIN_NOT_FOUND', `This host runs no plugin "${id}" (it runs ${ids.join(', ') || 'none'}).`, { pluginId: id });
    return module;
  };
  const tenantOf = async (code: string): Promise<TenantRef> => {
    const problem = rules.tenantCode(code);
    if (problem) throw new HttpError(400, 'INVALID_TENANT_CODE', `${JSON.stringify(code.slice(0, 64))} ${problem}.`);
    const { tenants } = await findTenants(pool, [code]);
    if (!tenants[0]) throw new HttpError(404, 'TENANT_NOT_FOUND', `No tenant has the code "${code}".`, { tenant: code });
    return tenants[0];
  };

  router.get('/plugins', requirePermission(access, HOST_PERMISSIONS.pluginsRead), async (req: Request, res: Response) => {
    readQuery(req, {});
    const { tenants, plugins } = await pluginsOverview(pool);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      tenants,
      plugins: modules.map((m) => {
        const row = plugins.find((p) => p.pluginId === m.id);
        return {
          id: m.id, availableVersion: m.version, installedVersion: row?.versionInstalled ?? null, installed: row !== undefined,
          killSwitch: row ? !row.enabledGlobal : false, tenantsEnabled: row?.tenantsEnabled ?? 0, tenantsInstalled: row?.tenantsInstalled ?? 0,
          revision: row?.revision ?? 0, etag: etag(row?.revision ?? 0), updatedBy: row?.updatedBy ?? null, updatedAt: row?.updatedAt ?? null,
        };
      }),
    });
  });

  router.get('/tenants', requirePermission(access, HOST_PERMISSIONS.pluginsRead), async (req: Request, res: Response) => {
    const query = readQuery(req, {
      plugin: rules.pluginId, state: rules.oneOf('enabled', 'disabled', 'not-installed'), version: rules.version,
      migration: rules.oneOf('applied', 'pending', 'failed', 'quarantined'), q: rules.text(100), after: rules.tenantCode, limit: rules.integer(1, MAX_GRID_PAGE),
    });
    if (query.plugin !== undefined) moduleOf(query.plugin);
    if ((query.state ?? query.version ?? query.migration) !== undefined && query.plugin === undefined) {
      throw new HttpError(400, 'INVALID_QUERY', 'The state, version and migration filters are about one plugin: add plugin=<id>.', { parameter: 'plugin' });
    }
    const page = await readTenantGrid(pool, modules, {
      plugin: query.plugin, state: query.state as never, version: query.version, migration: query.migration as never, search: query.q,
    }, { after: query.after, limit: query.limit === undefined ? 100 : Number(query.limit) });
    res.setHeader('Cache-Control', 'no-store');
    res.json(page);
  });

  router.put('/plugins/:id/tenants/:code', requirePermission(access, HOST_PERMISSIONS.pluginsToggle), async (req: Request<{ id: string; code: string }>, res: Response) => {
    const module = moduleOf(req.params.id);
    const tenant = await tenantOf(req.params.code);
    const { enabled } = readBody(req, { enabled: { type: 'boolean', required: true } });
    const expectedRevision = readIfMatch(req);
    try {
      if (enabled) {
        const report = await enablePlugin({ pool, module, tenants: [tenant], expectedRevision });
        if (report.exitCode !== 0) {
          const failures = report.migrations.results.filter((r) => r.outcome.state !== 'done').map((r) => (r.outcome as { error?: string }).error);
          throw new HttpError(409, 'MIGRATIONS_FAILED', `Plugin ${module.id} was not enabled in tenant ${tenant.code}: its migrations did not complete there. ${failures.join(' ')}`.trim(), { pluginId: module.id, tenant: tenant.code });
        }
      } else {
        await disablePlugin(pool, module.id, [tenant], { expectedRevision });
      }
    } catch (error) {
      throw refusal(error);
    }
    answerRow(res, await readRevision(pool, module.id, tenant.id), { pluginId: module.id, tenant: tenant.code, enabled });
  });

  router.put('/plugins/:id/kill-switch', requirePermission(access, HOST_PERMISSIONS.killSwitch), async (req: Request<{ id: string }>, res: Response) => {
    const module = moduleOf(req.params.id);
    const { engaged, reason } = readBody(req, { engaged: { type: 'boolean', required: true }, reason: { type: 'string', required: true, max: 500 } });
    const expectedRevision = readIfMatch(req);
    // The reason rides with the change into the audit log (its trigger reads it from the transaction).
    await actAs({ ...currentActor()!, reason: reason! }, async () => {
      try {
        if (engaged) {
          if (!(await disablePlugin(pool, module.id, undefined, { expectedRevision }))) {
            throw new HttpError(409, 'PLUGIN_NOT_INSTALLED', `Plugin ${module.id} is not installed: there is nothing to switch off.`, { pluginId: module.id });
          }
        } else {
          const report = await enablePlugin({ pool, module, expectedRevision });
          if (!report.enabledGlobal) throw new HttpError(409, 'MIGRATIONS_FAILED', `Plugin ${module.id} stays switched off: its public migrations did not complete.`, { pluginId: module.id });
        }
      } catch (error) {
        throw refusal(error);
      }
    });
    answerRow(res, await readRevision(pool, module.id, null), { pluginId: module.id, killSwitch: engaged });
  });
  return router;
}

function answerRow(res: Response, revision: RowRevision, fields: Record<string, unknown>): void {
  res.setHeader('ETag', etag(revision.revision));
  res.setHeader('Cache-Control', 'no-store');
  res.json({ ...fields, ...revision });
}

/** A service's refusal as the client's answer; anything else is left as it is (a 500). */
function refusal(error: unknown): unknown {
  if (error instanceof StaleWriteError) return staleWriteAnswer(error);
  if (error instanceof EnablementError) return new HttpError(409, 'ENABLEMENT_REFUSED', error.message);
  return error;
}
