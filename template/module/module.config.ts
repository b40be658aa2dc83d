import type { ModuleConfig } from 'create-foundation-module/contract';
import manifest from './client/manifest.ts';
import plugin, { permissions } from './plugin/index.ts';

/** What the host knows of this module besides its code. Permissions and menu have one source each. */
export default {
  ...plugin.meta,
  name: {{{str name}}},
  description: {{{str description}}},
  permissions,
  /** Suggested roles; a tenant admin applies them explicitly, never automatically. */
  roleTemplates: [
    { key: '{{constant}}_VIEWER', displayName: {{{str (concat name " viewer")}}}, permissions: permissions.filter((p) => p.endsWith('.read')) },
    { key: '{{constant}}_MANAGER', displayName: {{{str (concat name " manager")}}}, permissions: [...permissions] },
  ],
  nav: manifest.menu,
  /** JSON schema of the module's per-tenant configuration (`ctx.config.getTenant`). */
  configSchema: { type: 'object', properties: {}, additionalProperties: false },
} satisfies ModuleConfig;
