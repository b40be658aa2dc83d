/**
 * Permission checks. A user holds a permission in a tenant when one of the user's roles in that
 * tenant grants it and the permission is in the catalog; anything else denies, including a
 * permission nobody declared.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type pg from 'pg';
import type { RbacCapability } from '../contract.ts';
import { inTransaction } from '../data/database.ts';
import { HttpError } from '../errors.ts';
import { permissionProblem } from '../../rules/index.ts';
import { connect, currentConnection } from '../data/tenancy.ts';

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
}

const GRANTS = `
  FROM public.sys_user_role ur
  JOIN public.sys_role r ON r.id = ur.role_id
  JOIN public.sys_role_permission rp ON rp.role_id = r.id
  JOIN public.sys_permission p ON p.permission = rp.permission
 WHERE ur.user_id = $1 AND r.tenant_id = $2`;

export function createRbac({ pool }: { pool: pg.Pool }): Rbac {
  async function can({ userId, tenantId }: { userId: string; tenantId: string }, permission: string): Promise<boolean> {
    const { rows } = await currentConnection(pool).query<{ ok: boolean }>(`SELECT EXISTS (SELECT 1 ${GRANTS} AND rp.permission = $3) AS ok`, [userId, tenantId, permission]);
    return rows[0]?.ok === true;
  }

  async function permissionsOf({ userId, tenantId }: { userId: string; tenantId: string }): Promise<string[]> {
    const { rows } = await currentConnection(pool).query<{ permission: string }>(`SELECT DISTINCT rp.permission ${GRANTS} ORDER BY 1`, [userId, tenantId]);
    return rows.map((r) => r.permission);
  }

  function requirePermission(permission: string): RequestHandler {
    return async function requirePermissionHandler(req: Request, _res: Response, next: NextFunction) {
      if (!req.identity) {
        throw new HttpError(401, 'UNAUTHENTICATED', `This route needs a signed-in user in a tenant (permission ${permission}).`, { permission });
      }
      if (!(await can(req.identity, permission))) {
        throw new HttpError(403, 'FORBIDDEN', `You lack the permission ${permission} in tenant ${req.identity.tenantCode}.`, { permission });
      }
      next();
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
  }

  return { can, permissionsOf, forPlugin, grant };
}
