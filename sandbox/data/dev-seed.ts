/**
 * The sandbox's development data: two tenants and two users, so that tenancy and permissions
 * can be seen working from the first start. `admin@sandbox.dev` holds every permission of the
 * catalog in every tenant (the dev tenants, and any other: one made by `foundation-module
 * tenants create` too), through a tenant role; `user@sandbox.dev` holds none. Only a sandbox that
 * seeds dev data with dev identity on grants this (its bootstrap, and its take-on of a tenant
 * created while it runs): the operator commands never do, so a production database gets no dev
 * identity from them.
 */
import type pg from 'pg';
import { ensureTenant } from './tenants.ts';

export const DEV_TENANTS = [
  { code: 'dev', name: 'Dev tenant', domain: 'dev.localhost', schema: 'tenant_dev' },
  { code: 'acme', name: 'Acme Corp', domain: 'acme.localhost', schema: 'tenant_acme' },
] as const;

export const DEV_USERS = {
  admin: { email: 'admin@sandbox.dev', name: 'Sandbox admin' },
  user: { email: 'user@sandbox.dev', name: 'Sandbox user (no permissions)' },
} as const;

export const DEV_ADMIN_ROLE = 'SANDBOX_ADMIN';

export interface DevSeedOptions {
  /**
   * Give the dev admin its role in every tenant, not only in the dev tenants. Where dev identity
   * is off (production mode), the dev users must not hold anything in the real tenants. @default true
   */
  everyTenant?: boolean;
}

export async function seedDevData(client: pg.ClientBase, { everyTenant = true }: DevSeedOptions = {}): Promise<void> {
  const devTenantIds: string[] = [];
  for (const tenant of DEV_TENANTS) devTenantIds.push(await ensureTenant(client, tenant));
  for (const user of Object.values(DEV_USERS)) {
    await client.query('INSERT INTO public.sys_user (email, name) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING', [user.email, user.name]);
  }
  await grantDevRoles(client, everyTenant ? undefined : devTenantIds);
}

/**
 * The dev admin's role in each of `tenantIds` (every tenant when left out), granting the whole
 * catalog; idempotent. Needs the dev users (`seedDevData`); a tenant id that is gone is skipped.
 */
export async function grantDevRoles(client: pg.ClientBase, tenantIds?: readonly string[]): Promise<void> {
  const ids = tenantIds ?? null;
  await client.query(
    `INSERT INTO public.sys_role (tenant_id, key, name)
     SELECT t.id, $1, 'Sandbox administrator' FROM public.sys_tenant t WHERE $2::uuid[] IS NULL OR t.id = ANY($2::uuid[])
     ON CONFLICT (tenant_id, key) DO NOTHING`,
    [DEV_ADMIN_ROLE, ids]);
  await client.query(
    `INSERT INTO public.sys_user_role (user_id, role_id)
     SELECT u.id, r.id FROM public.sys_user u JOIN public.sys_role r ON r.key = $2 AND ($3::uuid[] IS NULL OR r.tenant_id = ANY($3::uuid[]))
      WHERE u.email = $1 ON CONFLICT DO NOTHING`,
    [DEV_USERS.admin.email, DEV_ADMIN_ROLE, ids]);
  // The dev admin follows the catalog: a permission a module adds is granted at the next start.
  await client.query(
    `INSERT INTO public.sys_role_permission (role_id, permission)
     SELECT r.id, p.permission FROM public.sys_role r CROSS JOIN public.sys_permission p
      WHERE r.key = $1 AND ($2::uuid[] IS NULL OR r.tenant_id = ANY($2::uuid[])) ON CONFLICT DO NOTHING`,
    [DEV_ADMIN_ROLE, ids]);
}
