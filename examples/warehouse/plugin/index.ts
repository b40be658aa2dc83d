import type { FoundationPlugin } from 'create-foundation-module/contract';
import { productsPermissions, registerProductsRoutes } from './products.ts';
import { suppliersPermissions, registerSuppliersRoutes } from './suppliers.ts';

/** Every permission this module checks: the one list module.config.ts and the host read. */
export const permissions: string[] = [
  ...productsPermissions,
  ...suppliersPermissions,
];

const plugin: FoundationPlugin = {
  meta: { id: 'warehouse', version: '0.1.0', api: '1.x' },

  async register(ctx) {
    registerProductsRoutes(ctx);
    registerSuppliersRoutes(ctx);
  },
};

export default plugin;
