/**
 * Builds the `PluginContext` one plugin receives: the host's services narrowed to that plugin
 * (its router, its permissions, its configuration, its log tag, its event namespace). Nothing in it
 * exposes the pool or host internals.
 */
import express, { type Request } from 'express';
import type pg from 'pg';
import type { PluginContext, TenantQuery } from '../contract.ts';
import type { CronScheduler } from '../../foundation-lib/cron-scheduler.ts';
import { HttpError } from '../errors.ts';
import type { EventBus } from './events.ts';
import type { Logger } from '../logger.ts';
import { pluginConfig } from '../../operations/registry/config.ts';
import type { LoadedPlugin } from './loader.ts';
import { createPluginLogger } from './log.ts';
import type { Rbac } from '../access/rbac.ts';
import type { Tenancy } from '../data/tenancy.ts';
import type { EnablementCache } from '../../operations/registry/enablement-cache.ts';

export interface HostServices {
  pool: pg.Pool;
  tenancy: Tenancy;
  rbac: Rbac;
  events: EventBus;
  cron: CronScheduler;
  logger: Logger;
  enablement: Pick<EnablementCache, 'check'>;
}

export function createPluginContext(plugin: LoadedPlugin, services: HostServices): PluginContext {
  const pluginId = plugin.meta.id;
  const { tenancy } = services;
  // The app runs it in the request's scope (plugins/scope.ts): its handlers know their request and tenant.
  const router = express.Router();
  /**
   * Undefined when the plugin is on in `tenant` (the usual case: no promise made); else a promise
   * that settles once the reference is looked up (a code is judged by its tenant's id): resolved
   * when it turns out on there, rejected 403 PLUGIN_DISABLED when off (400 when there is no such tenant).
   */
  const whenEnabledIn = (tenant: string): Promise<void> | undefined => {
    const enabled = services.enablement.check(pluginId, tenant);
    if (enabled.global && enabled.tenant !== false) return undefined;
    return (async () => {
      if (enabled.global) {
        const { id } = await tenancy.get(tenant);
        if (services.enablement.check(pluginId, id).tenant !== false) return;
      }
      throw new HttpError(403, 'PLUGIN_DISABLED', `Plugin ${pluginId} is disabled ${enabled.global ? 'for this tenant' : 'globally'}.`, { pluginId, tenantId: tenant });
    })();
  };
  return {
    router,
    auth(req: Request) {
      if (!req.identity) throw new HttpError(401, 'UNAUTHENTICATED', 'This route needs a signed-in user in a tenant.');
      return { tenantId: req.identity.tenantId, userId: req.identity.userId };
    },
    rbac: services.rbac.forPlugin(pluginId, plugin.permissions),
    // A route without identity (a webhook) names its tenant here: the plugin's switches hold as at the gate.
    withTenantTx: (tenantId, run) => whenEnabledIn(tenantId)?.then(() => tenancy.withTenantTx(tenantId, run)) ?? tenancy.withTenantTx(tenantId, run),
    resolveTenant: (query) => tenancy.resolve(checkTenantQuery(query)).then(async (tenant) => {
      if (tenant) await whenEnabledIn(tenant.id);
      return tenant;
    }),
    config: pluginConfig({ pool: services.pool, tenancy, pluginId, schemas: plugin.configSchemas, logger: services.logger }),
    events: services.events.forPlugin(pluginId),
    cron: services.cron.forPlugin(pluginId),
    log: createPluginLogger(services.logger, pluginId),
    httpError: (status, code, message, details) => new HttpError(status, code, message, details),
  };
}

/**
 * `{ code }` or `{ domain }`, exactly one. Two would be a guess at which wins, none a question
 * with no answer. Most likely the plugin passed a client's query through, so the client is told
 * (400); the values themselves are the tenancy's to judge (a malformed one finds no tenant).
 */
function checkTenantQuery(query: unknown): TenantQuery {
  const given = query !== null && typeof query === 'object' ? (['code', 'domain'] as const).filter((key) => (query as TenantQuery)[key] !== undefined) : [];
  if (given.length !== 1) {
    const got = query == null ? String(query) : typeof query !== 'object' ? `a ${typeof query}` : given.length === 0 ? 'neither' : 'both';
    throw new HttpError(400, 'INVALID_TENANT_QUERY', `A tenant is looked up by { code } or by { domain }, exactly one of them (got ${got}).`);
  }
  const { code, domain } = query as TenantQuery;
  return given[0] === 'code' ? { code } : { domain };
}
