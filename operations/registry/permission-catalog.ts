/**
 * The permission catalog (`sys_permission`) follows what its owner declares (a plugin, or the
 * host's own namespace): new permissions are added, and one no longer declared is removed, but
 * never while a tenant's role grants it. Removing it would delete those grants with it (foreign
 * key cascade), and an older or mistaken module folder would silently take away what tenant admins
 * gave. A kept permission is reported, with the statement that removes it, until someone does.
 */
import type pg from 'pg';
import { DEV_ADMIN_ROLE } from '../../sandbox/data/dev-seed.ts';

/** A permission its owner no longer declares, kept because tenants' roles grant it. */
export interface KeptPermission {
  permission: string;
  /** The plugin id (or host namespace) it belongs to. */
  owner: string;
  /** Role grants of it (`sys_role_permission` rows), and the tenants those roles belong to. */
  grants: number;
  tenants: number;
}

/**
 * Records `declared` as `owner`'s permissions. Grants held by the dev seed's role don't count:
 * that role is given the whole catalog at every start, so it would keep everything for ever.
 * @returns the permissions kept although `owner` no longer declares them
 */
export async function syncPermissions(client: pg.ClientBase, owner: string, declared: readonly string[]): Promise<KeptPermission[]> {
  await client.query(
    `INSERT INTO public.sys_permission (permission, plugin_id)
     SELECT unnest($1::text[]), $2 ON CONFLICT (permission) DO NOTHING`,
    [declared, owner]);
  const { rows: kept } = await client.query<KeptPermission>(
    `SELECT p.permission, p.plugin_id AS owner, count(*)::int AS grants, count(DISTINCT r.tenant_id)::int AS tenants
       FROM public.sys_permission p
       JOIN public.sys_role_permission rp ON rp.permission = p.permission
       JOIN public.sys_role r ON r.id = rp.role_id AND r.key <> $3
      WHERE p.plugin_id = $2 AND NOT (p.permission = ANY($1::text[]))
      GROUP BY p.permission, p.plugin_id ORDER BY p.permission`,
    [declared, owner, DEV_ADMIN_ROLE]);
  await client.query(
    'DELETE FROM public.sys_permission WHERE plugin_id = $2 AND NOT (permission = ANY($1::text[])) AND NOT (permission = ANY($3::text[]))',
    [declared, owner, kept.map((k) => k.permission)]);
  return kept;
}

/** What a kept permission means, and the statement that removes it (with its grants) once no tenant needs it. */
export function keptPermissionMessage({ permission, owner, grants, tenants }: KeptPermission): string {
  return `Permission ${permission} is no longer declared by ${owner}, but ${grants} role grant(s) in ${tenants} tenant(s) hold it: it is kept, with its grants. ` +
    `Once no tenant needs it, remove it and its grants with: DELETE FROM public.sys_permission WHERE permission = '${permission.replaceAll("'", "''")}';`;
}
