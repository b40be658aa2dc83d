/**
 * The host's own permissions in the catalog (`sys_permission`), recorded at each bootstrap in its
 * transaction, before the dev seed grants the catalog to the dev admin. `rbac.can` denies anything
 * not in the catalog, so without this row no role could ever grant the admin API.
 */
import type pg from 'pg';
import { HOST_PERMISSION_NAMESPACE, HOST_PERMISSIONS } from '../../rules/index.ts';

export async function recordHostPermissions(client: pg.ClientBase): Promise<void> {
  const permissions = Object.values(HOST_PERMISSIONS);
  await client.query(
    `INSERT INTO public.sys_permission (permission, plugin_id)
     SELECT unnest($1::text[]), $2 ON CONFLICT (permission) DO NOTHING`,
    [permissions, HOST_PERMISSION_NAMESPACE]);
  // A host permission a later kit no longer defines goes, with its grants, as a plugin's does.
  await client.query('DELETE FROM public.sys_permission WHERE plugin_id = $2 AND NOT (permission = ANY($1::text[]))', [permissions, HOST_PERMISSION_NAMESPACE]);
}
