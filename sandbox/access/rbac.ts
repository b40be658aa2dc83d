/**
 * Permission checks. A user holds a permission in a tenant when one of the user's roles in that
 * tenant grants it and the permission is in the catalog; anything else denies, including a
 * permission nobody declared. Answered from the permission cache (access-caches.ts): a warm
 * request costs no query.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type pg from 'pg';
import type { RbacCapability } from '../contract.ts';
import { inTransaction } from '../data/database.ts';
import { HttpError } from '../errors.ts';
import { permissionProblem } from '../../rules/index.ts';
import { connect } from '../data/tenancy.ts';
import { createAccessCaches, type PermissionCache } from './access-caches.ts';
import type { CacheStats } from './bounded-cache.ts';

export interface Rbac {
  can(who: { userId: string; tenantId: string }, permission: string): Promise<boolean>;
  permissionsOf(who: { userId: string; tenantId: string }): Promise<string[]>;
  /** The `rbac` capability of one plugin: it may require only permissions it declared. */
  forPlugin(pluginId: string, declared: string[]): RbacCapability;
  /**
   * A tenant admin's act: ensures role `roleKey` in the tenant, grants it `permissions` (which
   * must be in the catalog) and gives it to the user.
   */
  grant(who: { userId: string; tenantId: string }, roleKey: string, permissions: string[]): Promise<void>;
  /** The permission cache's counters, for metrics. */
  stats(): CacheStats;
}

export interface RbacOptions {
  pool: pg.Pool;
  /** Where permission sets are held; the sandbox shares one with its change handler. @default a cache of its own */
  permissions?: PermissionCache;
  /** Told of every role this process writes, before the write's own notice comes back. */
  onWrite?: (scope: { tenantIds: string[] }) => void;
}

export function createRbac({ pool, permissions, onWrite }: RbacOptions): Rbac {
  if (!permissions) {
    const own = createAccessCaches({ pool });
    permissions = own.permissions;
    onWrite ??= own.forget;
  }
  const cache = permissions;

  async function can(who: { userId: string; tenantId: string }, permission: string): Promise<boolean> {
    return (await cache.granted(who)).has(permission);
  }

  async function permissionsOf(who: { userId: string; tenantId: string }): Promise<string[]> {
    return [...(await cache.granted(who))].sort();
  }

  function requirePermission(permission: string): RequestHandler {
    function refuseUnless(allowed: boolean, identity: NonNullable<Request['identity']>): void {
      if (!allowed) throw new HttpError(403, 'FORBIDDEN', `You lack the permission ${permission} in tenant ${identity.tenantCode}.`, { permission });
    }
    // Sync when the caller's permission set is cached (a warm request): no promise, no query.
    return function requirePermissionHandler(req: Request, _res: Response, next: NextFunction): void | Promise<void> {
      const { identity } = req;
      if (!identity) {
        throw new HttpError(401, 'UNAUTHENTICATED', `This route needs a signed-in user in a tenant (permission ${permission}).`, { permission });
      }
      const granted = cache.cachedGranted(identity);
      if (granted) {
        refuseUnless(granted.has(permission), identity);
        return next();
      }
      return can(identity, permission).then((allowed) => {
        refuseUnless(allowed, identity);
        next();
      });
    };
  }

  function forPlugin(pluginId: string, declared: string[]): RbacCapability {
    return {
      require(permission: string) {
        const problem = permissionProblem(pluginId, permission);
        if (problem || !declared.includes(permission)) {
          throw new Error(`Plugin "${pluginId}" requires permission ${JSON.stringify(permission)}, which it does not declare` +
            (problem ? ` (${problem})` : '') + '. Add it to `export const permissions` in plugin/index.ts.');
        }
        return requirePermission(permission);
      },
    };
  }

  async function grant({ userId, tenantId }: { userId: string; tenantId: string }, roleKey: string, permissions: string[]): Promise<void> {
    const client = await connect(pool);
    try {
      await inTransaction(client, async () => {
        const { rows: known } = await client.query<{ permission: string }>('SELECT permission FROM public.sys_permission WHERE permission = ANY($1::text[])', [permissions]);
        const unknown = permissions.filter((p) => !known.some((k) => k.permission === p));
        if (unknown.length) throw new Error(`Cannot grant ${unknown.join(', ')}: not in the permission catalog (no loaded plugin declares it).`);
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO public.sys_role (tenant_id, key, name) VALUES ($1, $2, $2)
           ON CONFLICT (tenant_id, key) DO UPDATE SET key = EXCLUDED.key RETURNING id`, [tenantId, roleKey]);
        const roleId = rows[0]!.id;
        await client.query('INSERT INTO public.sys_role_permission (role_id, permission) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [roleId, permissions]);
        await client.query('INSERT INTO public.sys_user_role (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, roleId]);
      });
    } finally {
      client.release();
    }
    // The role may be shared: every permission set of the tenant is forgotten, not only this user's.
    onWrite?.({ tenantIds: [tenantId] });
  }

  return { can, permissionsOf, forPlugin, grant, stats: () => cache.stats() };
}
