/**
 * Users and permission sets held in memory, so that identity and RBAC send no query on a warm
 * request. They stay true across processes through the `access` change notices that triggers on
 * sys_user, sys_role, sys_user_role, sys_role_permission and sys_permission send
 * (data/changes.ts); change-handler.ts hands each notice to `forget`. A write this process makes
 * (rbac.grant) forgets at once as well, not when its own notice comes back.
 */
import type pg from 'pg';
import { currentConnection } from '../data/tenancy.ts';
import { createBoundedCache, type CacheStats } from './bounded-cache.ts';

export interface SandboxUser {
  id: string;
  email: string;
  name: string;
}

/** Who an access change concerns. Neither list: anyone (a TRUNCATE, a catalog change, too many rows to name). */
export interface AccessScope {
  userIds?: readonly string[];
  tenantIds?: readonly string[];
}

export interface UserCache {
  /** By id (a uuid; the caller checked its shape). */
  byId(id: string): Promise<SandboxUser | undefined>;
  /** By email (valid, in lower case; the caller checked). */
  byEmail(email: string): Promise<SandboxUser | undefined>;
  /** The user by id or email (checked, in lower case) if cached, else undefined. Sync: the warm path. */
  cached(key: { id: string } | { email: string }): SandboxUser | undefined;
  stats(): CacheStats;
}

export interface PermissionCache {
  /** The permissions `userId`'s roles grant in `tenantId` that the catalog holds. */
  granted(who: { userId: string; tenantId: string }): Promise<ReadonlySet<string>>;
  /** The same set if cached, else undefined. Sync: the warm path. */
  cachedGranted(who: { userId: string; tenantId: string }): ReadonlySet<string> | undefined;
  stats(): CacheStats;
}

export interface AccessCaches {
  users: UserCache;
  permissions: PermissionCache;
  /**
   * Forgets what a change touched: a named user's entry and permission sets, a named tenant's
   * permission sets (its roles changed); with neither named, everything.
   */
  forget(scope?: AccessScope): void;
}

export interface AccessCachesOptions {
  pool: pg.Pool;
  /** Most users held (each takes two entries: by id and by email). @default 20000 */
  maxUsers?: number;
  /** Most (user, tenant) permission sets held. @default 20000 */
  maxPermissionSets?: number;
}

const USER_COLUMNS = 'id::text AS id, email, name';

/**
 * The roles' grants, as rbac.ts has always read them: a permission counts only while it is in the
 * catalog (sys_permission), so one a plugin no longer declares is denied.
 */
export const GRANTS = `
  FROM public.sys_user_role ur
  JOIN public.sys_role r ON r.id = ur.role_id
  JOIN public.sys_role_permission rp ON rp.role_id = r.id
  JOIN public.sys_permission p ON p.permission = rp.permission
 WHERE ur.user_id = $1 AND r.tenant_id = $2`;

interface PermissionSet {
  userId: string;
  tenantId: string;
  granted: ReadonlySet<string>;
}

export function createAccessCaches({ pool, maxUsers = 20_000, maxPermissionSets = 20_000 }: AccessCachesOptions): AccessCaches {
  // An unknown user is not remembered: a request naming one is refused anyway, and a user created
  // later must be found at once without a notice naming a key nobody cached.
  const users = createBoundedCache<SandboxUser>({ maxEntries: maxUsers * 2 });
  const permissionSets = createBoundedCache<PermissionSet>({ maxEntries: maxPermissionSets });

  async function readUser(where: string, value: string): Promise<SandboxUser | undefined> {
    const { rows } = await currentConnection(pool).query<SandboxUser>(`SELECT ${USER_COLUMNS} FROM public.sys_user WHERE ${where}`, [value]);
    return rows[0];
  }
  const userKeys = (user: SandboxUser) => [`id:${user.id}`, `email:${user.email}`];
  const userCacheKey = (key: { id: string } | { email: string }) => ('id' in key ? `id:${key.id.toLowerCase()}` : `email:${key.email}`);
  const permissionSetKey = ({ userId, tenantId }: { userId: string; tenantId: string }) => `${userId.toLowerCase()}/${tenantId.toLowerCase()}`;

  async function readGranted(userId: string, tenantId: string): Promise<PermissionSet> {
    const { rows } = await currentConnection(pool).query<{ permission: string }>(`SELECT DISTINCT rp.permission ${GRANTS}`, [userId, tenantId]);
    return { userId, tenantId, granted: new Set(rows.map((r) => r.permission)) };
  }

  return {
    users: {
      byId: (id) => users.get(userCacheKey({ id }), () => readUser('id = $1::uuid', id), userKeys),
      byEmail: (email) => users.get(userCacheKey({ email }), () => readUser('email = $1', email), userKeys),
      cached: (key) => users.peek(userCacheKey(key)),
      stats: () => users.stats(),
    },
    permissions: {
      async granted({ userId, tenantId }) {
        return (await permissionSets.get(permissionSetKey({ userId, tenantId }), () => readGranted(userId.toLowerCase(), tenantId.toLowerCase())))!.granted;
      },
      cachedGranted: (who) => permissionSets.peek(permissionSetKey(who))?.granted,
      stats: () => permissionSets.stats(),
    },
    forget({ userIds, tenantIds } = {}) {
      if (!userIds && !tenantIds) {
        users.invalidate();
        permissionSets.invalidate();
        return;
      }
      const namedUsers = new Set(userIds?.map((id) => id.toLowerCase()));
      const namedTenants = new Set(tenantIds?.map((id) => id.toLowerCase()));
      if (namedUsers.size > 0) users.invalidate((user) => namedUsers.has(user.id));
      permissionSets.invalidate((set) => namedUsers.has(set.userId) || namedTenants.has(set.tenantId));
    },
  };
}
