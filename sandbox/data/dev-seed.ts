/**
 * The sandbox's development data: two tenants and two users, so that tenancy and permissions
 * can be seen working from the first start. `admin@sandbox.dev` holds every permission of the
 * catalog in every dev tenant, through a tenant role; `user@sandbox.dev` holds none.
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

export async function seedDevData(client: pg.ClientBase): Promise<void> {
  const tenantIds: string[] = [];
  for (const tenant of DEV_TENANTS) tenantIds.push(await ensureTenant(client, tenant));
  for (const user of Object.values(DEV_USERS)) {
    await client.query('INSERT INTO public.sys_user (email, name) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING', [user.email, user.name]);
  }
  await client.query(
    `INSERT INTO public.sys_role (tenant_id, key, name)
     SELECT unnest($1::uuid[]), $2, 'Sandbox administrator' ON CONFLICT (tenant_id, key) DO NOTHING`,
    [tenantIds, DEV_ADMIN_ROLE]);
  await client.query(
    `INSERT INTO public.sys_user_role (user_id, role_id)
     SELECT u.id, r.id FROM public.sys_user u JOIN public.sys_role r ON r.key = $2 AND r.tenant_id = ANY($3::uuid[])
      WHERE u.email = $1 ON CONFLICT DO NOTHING`,
    [DEV_USERS.admin.email, DEV_ADMIN_ROLE, tenantIds]);
  // The dev admin follows the catalog: a permission a module adds is granted at the next start.
  await client.query(
    `INSERT INTO public.sys_role_permission (role_id, permission)
     SELECT r.id, p.permission FROM public.sys_role r CROSS JOIN public.sys_permission p
      WHERE r.key = $1 AND r.tenant_id = ANY($2::uuid[]) ON CONFLICT DO NOTHING`,
    [DEV_ADMIN_ROLE, tenantIds]);
}
