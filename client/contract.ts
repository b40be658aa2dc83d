/**
 * The client side of contract 1.x: what a module's `client/manifest.ts` exports and what its
 * pages receive from the shell. Modules import these with `import type` only.
 */
import type { ComponentType } from 'react';

/** What the shell hands every module page. */
export interface ModulePageProps {
  /**
   * `fetch` that carries the shell's identity (tenant, user) to the API. Pages call the API only
   * through it, so the same page works in the sandbox shell and in the foundation.
   */
  apiFetch: (path: string, init?: RequestInit) => Promise<Response>;
  /** The tenant the shell is acting in (code). */
  tenant: string;
}

export interface ModuleRoute {
  /** Relative to the module's base `/app/<id>/`, e.g. `items` or `items/:itemId`. */
  path: string;
  /** Lazy: the page's code loads when the route is first visited. */
  component: () => Promise<{ default: ComponentType<ModulePageProps> }>;
}

export interface ModuleMenuEntry {
  label: string;
  /** Route path relative to the module's base, as in `ModuleRoute.path`. */
  to: string;
  section?: string;
  /** Shown only to users holding this permission. */
  permission?: string;
}

export interface ModuleWidget {
  id: string;
  title: string;
  component: () => Promise<{ default: ComponentType<ModulePageProps> }>;
  permission?: string;
}

/** Default export of `client/manifest.ts`. */
export interface ModuleManifest {
  /** Equals the plugin's `meta.id`. */
  id: string;
  routes: ModuleRoute[];
  menu: ModuleMenuEntry[];
  widgets?: ModuleWidget[];
}
