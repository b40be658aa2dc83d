/**
 * The host's own permissions (its admin API), beside the plugins' in the catalog. They live in the
 * `admin` namespace: `admin` is a reserved plugin id, so no module can declare, require or (by
 * recording its own catalog) remove them, and `sys_permission.plugin_id` 'admin' names no plugin.
 */
import { permissionProblem } from './permission.ts';

/** `sys_permission.plugin_id` of host permissions, and the first word of each. */
export const HOST_PERMISSION_NAMESPACE = 'admin';

/** One per kind of admin action (docs/admin.md lists the routes each opens). */
export const HOST_PERMISSIONS = {
  /** Read plugins, their per-tenant state and request figures. */
  pluginsRead: 'admin.plugins.read',
  /** Enable or disable a plugin for tenants. */
  pluginsToggle: 'admin.plugins.toggle',
  /** Pull or release a plugin's global kill switch. */
  killSwitch: 'admin.plugins.kill',
  /** Run a plugin's migrations. */
  migrationsRun: 'admin.migrations.run',
  /** Change a plugin's configuration, global or per tenant. */
  configWrite: 'admin.config.write',
  /** Apply or decline a plugin's role templates in tenants. */
  rolesApply: 'admin.roles.apply',
  /** Read and export the audit log. */
  auditRead: 'admin.audit.read',
} as const;

export type HostPermission = (typeof HOST_PERMISSIONS)[keyof typeof HOST_PERMISSIONS];

/** Why `permission` is not a host permission, or undefined when it is one. */
export function hostPermissionProblem(permission: unknown): string | undefined {
  const shape = permissionProblem(HOST_PERMISSION_NAMESPACE, permission);
  if (shape) return shape;
  return (Object.values(HOST_PERMISSIONS) as string[]).includes(permission as string) ? undefined : 'is not a permission the host defines';
}
