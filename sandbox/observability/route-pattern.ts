/**
 * The route pattern a request matched (`/items/:itemId`), never its raw URL: logs and metric
 * labels grouped by pattern stay comparable, and a caller sending random paths cannot grow the
 * number of distinct values (each one a time series in Prometheus) beyond the routes in the code.
 */
import type { Request, Router } from 'express';

/** The label of a request that reached no route: nothing matched, or it was refused before routing (401, 403, 415, …). */
export const UNMATCHED_ROUTE = '(unmatched)';

/** What Express keeps of a route and of a mounted router; only what is read here. */
interface RouteLike { path: unknown }
interface LayerLike {
  route?: RouteLike;
  handle?: { stack?: unknown };
  /** The mount path as written (router 2.3+); older routers keep none. */
  rawPath?: unknown;
}

/**
 * Resolves `req.route` (the Route object Express leaves on the request once one matched) to its
 * full pattern under the plugin router, prefixes of nested routers included: `req.route.path` alone
 * would lose `/orders/:orderId` of `router.use('/orders/:orderId', sub)`, and `req.baseUrl` holds
 * the actual ids. The router is walked again only when a route is unknown (one added after the
 * last walk), so the cost per request is one WeakMap lookup.
 */
export function routePatterns(router: Router, base: string) {
  // A Route's pattern never changes, so entries are never dropped; walking again only adds.
  const known = new WeakMap<object, string>();

  function visit(node: unknown, prefix: string, depth: number): void {
    const stack = (node as { stack?: unknown } | undefined)?.stack;
    // A router mounted inside itself would otherwise recurse for ever.
    if (!Array.isArray(stack) || depth > 16) return;
    for (const layer of stack as LayerLike[]) {
      if (layer.route) known.set(layer.route, joinPaths(prefix, patternText(layer.route.path)));
      else if (Array.isArray(layer.handle?.stack)) {
        const mount = typeof layer.rawPath === 'string' || layer.rawPath instanceof RegExp || Array.isArray(layer.rawPath) ? patternText(layer.rawPath) : '/*';
        visit(layer.handle, joinPaths(prefix, mount), depth + 1);
      }
    }
  }

  /** The pattern of the route `req` matched, relative to the plugin's base; `UNMATCHED_ROUTE` when none did. */
  return function patternOf(req: Request): string {
    const route = req.route as RouteLike | undefined;
    if (!route || typeof route !== 'object') return UNMATCHED_ROUTE;
    if (!known.has(route)) visit(router, '', 0);
    const found = known.get(route);
    if (found !== undefined) return found;
    // A host route for this plugin (its health), declared on the app with the full path.
    const own = patternText(route.path);
    const relative = own.startsWith(`${base}/`) ? own.slice(base.length) : own;
    known.set(route, relative);
    return relative;
  };
}

function patternText(path: unknown): string {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) return path.map(patternText).join('|');
  return '/*';
}

function joinPaths(prefix: string, path: string): string {
  if (path === '/' || path === '') return prefix || '/';
  return `${prefix.replace(/\/$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}
