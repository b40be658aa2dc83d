/**
 * The host's own permissions in the catalog (`sys_permission`), recorded at each bootstrap in its
 * transaction, before the dev seed grants the catalog to the dev admin. `rbac.can` denies anything
 * not in the catalog, so without this row no role could ever grant the admin API.
 */
import type pg from 'pg';
import { HOST_PERMISSION_NAMESPACE, HOST_PERMISSIONS } from '../../rules/index.ts';
import { syncPermissions, type KeptPermission } from '../../operations/registry/permission-catalog.ts';

/**
 * A host permission a later kit no longer defines goes as a plugin's does: unless a tenant's role grants it.
 * @returns the permissions kept for that reason
 */
export async function recordHostPermissions(client: pg.ClientBase): Promise<KeptPermission[]> {
  return syncPermissions(client, HOST_PERMISSION_NAMESPACE, Object.values(HOST_PERMISSIONS));
}
