/**
 * Per-plugin figures for the admin API: counts since the sandbox started, and the 95th percentile
 * of the durations of each plugin's most recent requests. Kept in memory, in this process only:
 * several API processes each answer for themselves (Prometheus sums them; see /metrics).
 */
import type { RequestObserver } from './request-log.ts';

export interface PluginFigures {
  id: string;
  requests: number;
  /** Answers with a server error (5xx); a client's mistake (4xx) is not the plugin's error. */
  errors: number;
  /** `errors / requests`, 0 before any request. */
  errorRate: number;
  /** 95th percentile (nearest rank) over the last `p95Window` requests; null before any. */
  p95Ms: number | null;
  statusClasses: Record<'2xx' | '3xx' | '4xx' | '5xx', number>;
}

export interface PluginStatsSnapshot {
  /** When counting began (the sandbox's start): `requests` and `errors` count from here. */
  since: string;
  /** How many of each plugin's latest requests `p95Ms` is computed over. */
  p95Window: number;
  plugins: PluginFigures[];
}

export interface RecentFigures {
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
  errorRate: number;
}

export interface PluginStats {
  observe: RequestObserver;
  snapshot(): PluginStatsSnapshot;
  /** A plugin's requests and errors over the last minute (a job's guardrail reads it). */
  lastMinute(pluginId: string): RecentFigures;
}

/** The last minute, in one-second buckets. */
const SECONDS = 60;

/** Enough for a stable p95, small enough (8 KB per plugin) to keep every plugin's. */
export const P95_WINDOW = 1024;

interface Tally {
  requests: number;
  errors: number;
  statusClasses: PluginFigures['statusClasses'];
  /** A ring of the latest durations: exact percentiles over a window, in fixed memory. */
  durations: Float64Array;
  written: number;
  /** Per second of the last minute: requests and errors, and which second each bucket holds. */
  recent: { requests: Uint32Array; errors: Uint32Array; second: Float64Array };
}

export function createPluginStats(pluginIds: readonly string[], { window = P95_WINDOW, now = Date.now } = {}): PluginStats {
  const since = new Date().toISOString();
  const tallies = new Map<string, Tally>(pluginIds.map((id) => [id, {
    requests: 0, errors: 0, statusClasses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }, durations: new Float64Array(window), written: 0,
    recent: { requests: new Uint32Array(SECONDS), errors: new Uint32Array(SECONDS), second: new Float64Array(SECONDS).fill(-1) },
  }]));

  const observe: RequestObserver = ({ pluginId, status, durationMs }) => {
    const tally = tallies.get(pluginId);
    if (!tally) return;
    tally.requests += 1;
    if (status >= 500) tally.errors += 1;
    const statusClass = `${Math.floor(status / 100)}xx`;
    if (statusClass in tally.statusClasses) tally.statusClasses[statusClass as keyof Tally['statusClasses']] += 1;
    tally.durations[tally.written % window] = durationMs;
    tally.written += 1;
    const second = Math.floor(now() / 1000);
    const slot = second % SECONDS;
    if (tally.recent.second[slot] !== second) {
      tally.recent.second[slot] = second;
      tally.recent.requests[slot] = 0;
      tally.recent.errors[slot] = 0;
    }
    tally.recent.requests[slot]! += 1;
    if (status >= 500) tally.recent.errors[slot]! += 1;
  };

  function lastMinute(pluginId: string): RecentFigures {
    const tally = tallies.get(pluginId);
    const current = Math.floor(now() / 1000);
    let requests = 0;
    let errors = 0;
    for (let slot = 0; tally && slot < SECONDS; slot++) {
      if (current - tally.recent.second[slot]! < SECONDS) {
        requests += tally.recent.requests[slot]!;
        errors += tally.recent.errors[slot]!;
      }
    }
    return { requests, errors, errorRate: requests === 0 ? 0 : errors / requests };
  }

  function p95({ durations, written }: Tally): number | null {
    const count = Math.min(written, window);
    if (count === 0) return null;
    const sorted = durations.slice(0, count).sort();
    return sorted[Math.ceil(0.95 * count) - 1]!;
  }

  return {
    observe,
    lastMinute,
    snapshot: () => ({
      since,
      p95Window: window,
      plugins: [...tallies].map(([id, tally]) => ({
        id,
        requests: tally.requests,
        errors: tally.errors,
        errorRate: tally.requests === 0 ? 0 : tally.errors / tally.requests,
        p95Ms: p95(tally),
        statusClasses: { ...tally.statusClasses },
      })),
    }),
  };
}
