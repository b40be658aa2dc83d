import plugin, { permissions } from './plugin/index.ts';

/** What the host needs to know about this module besides its code. */
export default {
  ...plugin.meta,
  name: 'Items',
  description: 'Example module: a list of items per tenant.',
  permissions,
  /** Suggested bundles of permissions; a tenant admin applies them explicitly. */
  roleTemplates: [
    { key: 'ITEMS_VIEWER', displayName: 'Items viewer', permissions: ['items.read'] },
    { key: 'ITEMS_MANAGER', displayName: 'Items manager', permissions: [...permissions] },
  ],
  nav: [{ label: 'Items', to: 'items', permission: 'items.read' }],
  /** JSON schema of the module's per-tenant configuration. */
  configSchema: { type: 'object', properties: {}, additionalProperties: false },
};
