/**
 * Builds the `PluginContext` one plugin receives: the host's services narrowed to that plugin
 * (its router, its permissions, its log tag). Nothing in it exposes the pool or host internals.
 */
import express, { type Request } from 'express';
import type pg from 'pg';
import type { PluginContext } from '../contract.ts';
import type { CronScheduler } from './cron.ts';
import { HttpError } from '../errors.ts';
import type { EventBus } from './events.ts';
import type { Logger } from '../logger.ts';
import { pluginConfig } from '../registry/config.ts';
import type { LoadedPlugin } from './loader.ts';
import type { Rbac } from '../access/rbac.ts';
import type { Tenancy } from '../data/tenancy.ts';

export interface HostServices {
  pool: pg.Pool;
  tenancy: Tenancy;
  rbac: Rbac;
  events: EventBus;
  cron: CronScheduler;
  logger: Logger;
}

export function createPluginContext(plugin: LoadedPlugin, services: HostServices): PluginContext {
  const pluginId = plugin.meta.id;
  const log = services.logger.child({ pluginId });
  return {
    router: express.Router(),
    auth(req: Request) {
      if (!req.identity) throw new HttpError(401, 'UNAUTHENTICATED', 'This route needs a signed-in user in a tenant.');
      return { tenantId: req.identity.tenantId, userId: req.identity.userId };
    },
    rbac: services.rbac.forPlugin(pluginId, plugin.permissions),
    withTenantTx: (tenantId, run) => services.tenancy.withTenantTx(tenantId, run),
    resolveTenant: (query) => services.tenancy.resolve(query),
    config: pluginConfig(services.pool, services.tenancy, pluginId),
    events: services.events.forPlugin(pluginId),
    cron: services.cron.forPlugin(pluginId),
    log: (msg, meta) => log.info(meta ?? {}, msg),
    httpError: (status, code, message, details) => new HttpError(status, code, message, details),
  };
}
