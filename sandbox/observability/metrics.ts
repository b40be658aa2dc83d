/**
 * Prometheus metrics of one sandbox (prom-client), served at `GET /metrics`: requests, errors and
 * durations per plugin and route pattern, the connection pool, and the host's caches. Each sandbox
 * has a Registry of its own, never prom-client's global one, so two sandboxes in one process (tests)
 * don't collide. docs/observability.md lists every name and label.
 */
import type { Request, Response } from 'express';
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { RequestObserver, RequestRecord } from './request-log.ts';

/** What a cache tells about itself (the tenant, user and permission caches implement it). */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries held now, when the cache knows. */
  size?: number;
}

export interface CacheStatsProvider {
  /** The `cache` label: a fixed word (`tenants`, `permissions`), never input. */
  name: string;
  stats(): CacheStats;
}

export interface MetricsOptions {
  pool: pg.Pool;
  caches?: readonly CacheStatsProvider[];
  logger: Logger;
  /** The loaded plugins: their error counters start at 0, so a rate() over them exists before the first error. */
  pluginIds?: readonly string[];
}

export interface Metrics {
  observe: RequestObserver;
  /** This sandbox's metrics in the Prometheus text format. */
  render(): Promise<string>;
  contentType: string;
}

/** Above this many patterns a plugin's further routes share one label: a plugin adding routes at run time can't explode the series. */
export const MAX_ROUTES_PER_PLUGIN = 100;
export const OTHER_ROUTE = '(other)';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Seconds: from a cached lookup to a slow report, up to the 30 s statement timeout. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The part of prom-client used here, typed locally: the kit's sources are type-checked inside
 * generated modules too, where prom-client may not be installed (see `createMetrics`).
 */
type Labels = Record<string, string>;
export interface PromRegistry { metrics(): Promise<string>; readonly contentType: string }
export interface PromCounter { inc(labels: Labels, value?: number): void; reset(): void }
export interface PromGauge { set(labels: Labels, value: number): void; set(value: number): void; reset(): void }
export interface PromHistogram { observe(labels: Labels, value: number): void }
interface MetricConfig<M> {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registers: PromRegistry[];
  buckets?: number[];
  collect?: (this: M) => void;
}
export interface PromClient {
  Registry: new () => PromRegistry;
  Counter: new (config: MetricConfig<PromCounter>) => PromCounter;
  Gauge: new (config: MetricConfig<PromGauge>) => PromGauge;
  Histogram: new (config: MetricConfig<PromHistogram>) => PromHistogram;
}

/**
 * The metrics of one sandbox, or undefined when prom-client is not installed: it is a dev
 * dependency of the kit, and a module generated before the kit used it may lack it. Then
 * `/metrics` is not served and the start says why; everything else works.
 */
export async function createMetrics(options: MetricsOptions, load: () => Promise<unknown> = () => import('prom-client')): Promise<Metrics | undefined> {
  let prom: PromClient;
  try {
    const loaded = (await load()) as PromClient & { default?: PromClient };
    prom = loaded.Registry ? loaded : loaded.default!;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    options.logger.warn('metrics are off: the package prom-client is not installed (npm install -D prom-client to serve /metrics)');
    return undefined;
  }
  return metricsWith(prom, options);
}

export function metricsWith(prom: PromClient, { pool, caches = [], logger, pluginIds = [] }: MetricsOptions): Metrics {
  const registry = new prom.Registry();
  const registers = [registry];
  const requests = new prom.Counter({
    name: 'foundation_plugin_requests_total', help: 'Requests to a plugin\'s API, by route pattern, method and status class.',
    labelNames: ['plugin', 'route', 'method', 'status_class'], registers,
  });
  const errors = new prom.Counter({
    name: 'foundation_plugin_errors_total', help: 'Requests to a plugin\'s API answered with a server error (5xx).',
    labelNames: ['plugin'], registers,
  });
  for (const plugin of pluginIds) errors.inc({ plugin }, 0);
  const duration = new prom.Histogram({
    name: 'foundation_plugin_request_duration_seconds', help: 'Time from the request\'s arrival to the end of its answer.',
    labelNames: ['plugin', 'route', 'method'], buckets: DURATION_BUCKETS, registers,
  });
  poolGauges(prom, registers, pool);
  cacheMetrics(prom, registers, caches, logger);

  const routesSeen = new Map<string, Set<string>>();
  function boundedRoute({ pluginId, route }: RequestRecord): string {
    let seen = routesSeen.get(pluginId);
    if (!seen) routesSeen.set(pluginId, (seen = new Set()));
    if (seen.has(route)) return route;
    if (seen.size >= MAX_ROUTES_PER_PLUGIN) return OTHER_ROUTE;
    seen.add(route);
    return route;
  }

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observe(record) {
      const labels = { plugin: record.pluginId, route: boundedRoute(record), method: METHODS.has(record.method) ? record.method : 'OTHER' };
      requests.inc({ ...labels, status_class: `${Math.floor(record.status / 100)}xx` });
      if (record.status >= 500) errors.inc({ plugin: record.pluginId });
      duration.observe(labels, record.durationMs / 1000);
    },
  };
}

/** Read when scraped, from pg-pool's own counters: never stale, and nothing to update per request. */
function poolGauges(prom: PromClient, registers: PromRegistry[], pool: pg.Pool): void {
  const gauge = (name: string, help: string, value: () => number) =>
    new prom.Gauge({ name, help, registers, collect() { this.set(value()); } });
  gauge('foundation_db_pool_connections', 'Connections the pool holds open (idle or in use).', () => pool.totalCount);
  gauge('foundation_db_pool_idle_connections', 'Open connections waiting for work.', () => pool.idleCount);
  gauge('foundation_db_pool_in_use_connections', 'Connections checked out by a request or job.', () => pool.totalCount - pool.idleCount);
  gauge('foundation_db_pool_waiting_requests', 'Callers waiting for a connection (they fail after the acquire timeout).', () => pool.waitingCount);
  gauge('foundation_db_pool_max_connections', 'The pool\'s limit (SANDBOX_POOL_MAX).', () => pool.options.max ?? 10);
}

/** Cache figures as the caches count them (since start), read when scraped. */
function cacheMetrics(prom: PromClient, registers: PromRegistry[], caches: readonly CacheStatsProvider[], logger: Logger): void {
  if (caches.length === 0) return;
  const read = () => caches.flatMap(({ name, stats }) => {
    try {
      const figures = stats();
      return Number.isFinite(figures.hits) && Number.isFinite(figures.misses) ? [{ name, ...figures }] : [];
    } catch (error) {
      logger.warn({ err: error, cache: name }, 'could not read a cache\'s figures for /metrics');
      return [];
    }
  });
  // Counters, because the figures only grow; set from the cache's own totals at each scrape.
  const total = (name: string, help: string, pick: (s: CacheStats) => number) => new prom.Counter({
    name, help, labelNames: ['cache'], registers,
    collect() {
      this.reset();
      for (const stats of read()) this.inc({ cache: stats.name }, Math.max(0, pick(stats)));
    },
  });
  total('foundation_cache_hits_total', 'Lookups a host cache answered from memory.', (s) => s.hits);
  total('foundation_cache_misses_total', 'Lookups a host cache had to read from the database.', (s) => s.misses);
  new prom.Gauge({
    name: 'foundation_cache_hit_ratio', help: 'Hits over lookups since start (rate() of the two counters gives it over a window).',
    labelNames: ['cache'], registers,
    collect() {
      this.reset();
      for (const { name, hits, misses } of read()) if (hits + misses > 0) this.set({ cache: name }, hits / (hits + misses));
    },
  });
  new prom.Gauge({
    name: 'foundation_cache_entries', help: 'Entries a host cache holds now.', labelNames: ['cache'], registers,
    collect() {
      this.reset();
      for (const { name, size } of read()) if (typeof size === 'number' && Number.isFinite(size)) this.set({ cache: name }, size);
    },
  });
}

/**
 * The caches among `candidates` that count their hits (`stats()`): wired by name, so a cache that
 * gains `stats()` later shows up with no change here.
 */
export function cacheStatsProviders(candidates: Record<string, unknown>): CacheStatsProvider[] {
  return Object.entries(candidates).flatMap(([name, cache]) => {
    const stats = (cache as { stats?: unknown } | null | undefined)?.stats;
    return typeof stats === 'function' ? [{ name, stats: () => (stats as () => CacheStats).call(cache) }] : [];
  });
}

export function metricsEndpoint(metrics: Metrics) {
  return async function metricsHandler(_req: Request, res: Response): Promise<void> {
    const text = await metrics.render();
    res.setHeader('Content-Type', metrics.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(text);
  };
}
