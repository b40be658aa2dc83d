/**
 * The admin API's per-plugin figures, `GET /api/admin/plugins/stats` (docs/observability.md):
 * the answer's shape, a check that an answer has it, and the hook the Plugins page loads it with.
 */
import { useCallback, useEffect, useState } from 'react';
import type { PluginFigures, PluginStatsSnapshot } from '../../sandbox/observability/plugin-stats.ts';
import { apiJson, type ApiFetch } from './api.ts';

export const PLUGIN_STATS_PATH = '/api/admin/plugins/stats';

/** The answer's types are the API's own: one declaration for the server and the page. */
export type { PluginFigures };
export type PluginStats = PluginStatsSnapshot;
export type StatusClass = keyof PluginFigures['statusClasses'];

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const satisfies readonly StatusClass[];

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Why `entry` is not a `PluginFigures`, or undefined when it is one. */
function figuresProblem(entry: unknown): string | undefined {
  const f = (entry ?? {}) as Partial<Record<keyof PluginFigures, unknown>>;
  if (typeof f.id !== 'string') return 'id is not a string';
  for (const key of ['requests', 'errors', 'errorRate'] as const) {
    if (!isCount(f[key])) return `${key} of "${f.id}" is not a number`;
  }
  if (f.p95Ms !== null && !isCount(f.p95Ms)) return `p95Ms of "${f.id}" is neither a number nor null`;
  const classes = (f.statusClasses ?? {}) as Partial<Record<StatusClass, unknown>>;
  const missing = STATUS_CLASSES.find((c) => !isCount(classes[c]));
  return missing ? `statusClasses.${missing} of "${f.id}" is not a number` : undefined;
}

/**
 * The answer as the page reads it, or an Error saying which field is off. The shell may face a
 * foundation of another version than this sandbox: a changed shape should read as a message,
 * not as "Cannot read properties of undefined" from deep inside the table.
 */
export function readPluginStats(body: unknown): PluginStats {
  const b = (body ?? {}) as Partial<Record<keyof PluginStats, unknown>>;
  const problem = typeof b.since !== 'string' ? 'since is not a string'
    : !isCount(b.p95Window) ? 'p95Window is not a number'
    : !Array.isArray(b.plugins) ? 'plugins is not a list'
    : b.plugins.map(figuresProblem).find((p) => p !== undefined);
  if (problem) throw new Error(`Unexpected answer from ${PLUGIN_STATS_PATH}: ${problem}.`);
  return body as PluginStats;
}

export type PluginStatsState =
  | { status: 'loading' }
  /** `refreshing`: a new request is under way; the figures shown are the previous answer's. */
  | { status: 'loaded'; stats: PluginStats; refreshing: boolean }
  | { status: 'failed'; error: unknown };

/**
 * Loads the figures once, and again on each `refresh()`. No polling: the figures are for a person
 * looking at them, and each refresh is a request the admin asked for.
 */
export function usePluginStats(apiFetch: ApiFetch): { state: PluginStatsState; refresh: () => void } {
  const [state, setState] = useState<PluginStatsState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let current = true;
    // Figures already shown stay while the new ones load, so the table does not blink.
    setState((shown) => (shown.status === 'loaded' ? { ...shown, refreshing: true } : { status: 'loading' }));
    apiJson<unknown>(apiFetch, PLUGIN_STATS_PATH).then(readPluginStats).then(
      (stats) => { if (current) setState({ status: 'loaded', stats, refreshing: false }); },
      (error: unknown) => { if (current) setState({ status: 'failed', error }); },
    );
    return () => { current = false; };
  }, [apiFetch, attempt]);

  const refresh = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, refresh };
}
