import type { ModuleManifest } from 'create-foundation-module/client';
import { pluginId } from './src/plugin-id.ts';

/** What the shell (and the foundation's UI) shows of this module: pages load when first visited. */
export default {
  id: pluginId,
  routes: [
    { path: 'items', component: () => import('./src/pages/ItemsPage.tsx') },
  ],
  menu: [
    { label: 'Items', to: 'items', permission: 'items.items.read' },
  ],
} satisfies ModuleManifest;
