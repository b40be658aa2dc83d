import type { FoundationPlugin } from 'create-foundation-module/contract';
import { itemsPermissions, registerItemsRoutes } from './items.ts';

/** Every permission this module checks: the one list module.config.ts and the host read. */
export const permissions: string[] = [
  ...itemsPermissions,
];

const plugin: FoundationPlugin = {
  meta: { id: 'items', version: '0.1.0', api: '1.x' },

  async register(ctx) {
    registerItemsRoutes(ctx);
  },
};

export default plugin;
