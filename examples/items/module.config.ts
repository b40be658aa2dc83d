import type { ModuleConfig } from 'create-foundation-module/contract';
import manifest from './client/manifest.ts';
import plugin, { permissions } from './plugin/index.ts';

/** What the host knows of this module besides its code. Permissions and menu have one source each. */
export default {
  ...plugin.meta,
  name: 'Items',
  description: 'The Items module.',
  permissions,
  /** Suggested roles; a tenant admin applies them explicitly, never automatically. */
  roleTemplates: [
    { key: 'ITEMS_VIEWER', displayName: 'Items viewer', permissions: permissions.filter((p) => p.endsWith('.read')) },
    { key: 'ITEMS_MANAGER', displayName: 'Items manager', permissions: [...permissions] },
  ],
  nav: manifest.menu,
  /** JSON schema of the module's per-tenant configuration (`ctx.config.getTenant`). */
  configSchema: { type: 'object', properties: {}, additionalProperties: false },
} satisfies ModuleConfig;
