/**
 * The loaded modules (from `virtual:foundation-modules`) and the pages they contribute, with the
 * shell's URL scheme: module `<id>` owns everything under `/app/<id>/`.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import manifests from 'virtual:foundation-modules';
import { pluginIdProblem } from '../../rules/plugin-id.ts';
import type { ModuleManifest, ModulePageProps } from '../contract.ts';

/** `/app/<id>/<relative>`; `relative` is a route path or menu `to` as written in a manifest. */
export function appPath(moduleId: string, relative: string): string {
  const rest = relative.replace(/^\/+/, '');
  return rest ? `/app/${moduleId}/${rest}` : `/app/${moduleId}`;
}

/**
 * Manifests are plain TS checked by the author's compiler, but a wrong shape would otherwise
 * surface as a blank screen: say what is wrong instead.
 */
function manifestProblem(manifest: unknown, seen: Set<string>): string | null {
  const m = manifest as Partial<ModuleManifest> | null;
  if (!m || typeof m !== 'object') return 'A client/manifest.ts has no default export object.';
  const idProblem = pluginIdProblem(m.id);
  if (idProblem || typeof m.id !== 'string') return `A client manifest has the id ${JSON.stringify(m.id)}, which ${idProblem}; it must equal the plugin's meta.id.`;
  if (seen.has(m.id)) return `Two modules have the id "${m.id}"; the second one is ignored.`;
  if (!Array.isArray(m.routes) || !Array.isArray(m.menu)) {
    return `The client manifest of "${m.id}" needs \`routes\` and \`menu\` arrays.`;
  }
  return null;
}

function checkManifests(all: unknown[]): { modules: ModuleManifest[]; problems: string[] } {
  const modules: ModuleManifest[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const manifest of all) {
    const problem = manifestProblem(manifest, seen);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const ok = manifest as ModuleManifest;
    seen.add(ok.id);
    modules.push(ok);
  }
  return { modules, problems };
}

export const { modules, problems: manifestProblems } = checkManifests(manifests);

export interface ModulePage {
  moduleId: string;
  /** Full router path, e.g. `/app/items/items/:itemId`. */
  path: string;
  /** Created once, here: a `lazy()` made during render would reload the page on every render. */
  Page: LazyExoticComponent<ComponentType<ModulePageProps>>;
}

export const modulePages: ModulePage[] = modules.flatMap((m) =>
  m.routes.map((route) => ({ moduleId: m.id, path: appPath(m.id, route.path), Page: lazy(route.component) })),
);

/** Whether a menu entry or widget is visible: no permission needed, or the user holds it. */
export function isAllowed(permission: string | undefined, permissions: readonly string[] | null): boolean {
  return permission === undefined || (permissions?.includes(permission) ?? false);
}
