import type { ModuleManifest } from 'create-foundation-module/client';
import { pluginId } from './src/plugin-id.ts';

/** What the shell (and the foundation's UI) shows of this module: pages load when first visited. */
export default {
  id: pluginId,
  routes: [
    { path: 'products', component: () => import('./src/pages/ProductsPage.tsx') },
    { path: 'suppliers', component: () => import('./src/pages/SuppliersPage.tsx') },
    { path: 'overview', component: () => import('./src/pages/OverviewPage.tsx') },
  ],
  menu: [
    { label: 'Products', to: 'products', permission: 'warehouse.products.read' },
    { label: 'Suppliers', to: 'suppliers', permission: 'warehouse.suppliers.read' },
    { label: 'Overview', to: 'overview' },
  ],
} satisfies ModuleManifest;
