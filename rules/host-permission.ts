/**
 * The host's own permissions (its admin API), beside the plugins' in the catalog. They live in the
 * `admin` namespace: `admin` is a reserved plugin id, so no module can declare, require or (by
 * recording its own catalog) remove them, and `sys_permission.plugin_id` 'admin' names no plugin.
 */
import { permissionProblem } from './permission.ts';

/** `sys_permission.plugin_id` of host permissions, and the first word of each. */
export const HOST_PERMISSION_NAMESPACE = 'admin';

export const HOST_PERMISSIONS = {
  /** Read every plugin's request figures (`GET /api/admin/plugins/stats`). */
  pluginsRead: 'admin.plugins.read',
} as const;

/** Why `permission` is not a host permission, or undefined when it is one. */
export function hostPermissionProblem(permission: unknown): string | undefined {
  const shape = permissionProblem(HOST_PERMISSION_NAMESPACE, permission);
  if (shape) return shape;
  return (Object.values(HOST_PERMISSIONS) as string[]).includes(permission as string) ? undefined : 'is not a permission the host defines';
}
