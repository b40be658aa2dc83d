/**
 * The observability parts on their own, without a database: cache figures for /metrics, the cap
 * on route labels, the admin figures' p95 window, and the host permission's rule.
 */
import { Writable } from 'node:stream';
import type pg from 'pg';
import * as prom from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HOST_PERMISSION_NAMESPACE, HOST_PERMISSIONS, hostPermissionProblem, pluginIdProblem } from '../rules/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import {
  cacheStatsProviders, createMetrics, MAX_ROUTES_PER_PLUGIN, metricsWith, OTHER_ROUTE,
  type PromClient, type PromCounter, type PromGauge, type PromHistogram, type PromRegistry,
} from '../sandbox/observability/metrics.ts';
import { createPluginStats } from '../sandbox/observability/plugin-stats.ts';
import type { RequestRecord } from '../sandbox/observability/request-log.ts';
import { parsePrometheusText } from './helpers/prometheus-text.ts';

// metrics.ts types prom-client locally; what prom-client makes must have what it calls (checked at compile time).
const client = prom as unknown as PromClient;
const scratch = new prom.Registry();
const promShapes: [PromRegistry, PromCounter, PromGauge, PromHistogram] = [scratch,
  new prom.Counter({ name: 'c', help: 'c', labelNames: ['l'], registers: [scratch] }),
  new prom.Gauge({ name: 'g', help: 'g', registers: [scratch] }),
  new prom.Histogram({ name: 'h', help: 'h', labelNames: ['l'], buckets: [1], registers: [scratch] })];
void promShapes;
const idlePool = { totalCount: 2, idleCount: 2, waitingCount: 0, options: { max: 4 } } as unknown as pg.Pool;
const silent = createLogger({ level: 'silent' });
const record = (over: Partial<RequestRecord>): RequestRecord =>
  ({ pluginId: 'items', route: '/items', method: 'GET', status: 200, durationMs: 1, requestId: 'r', ...over });

describe('metrics of the host caches', () => {
  it('wires by name only the caches that count their hits, and exports hits, misses, ratio and size', async () => {
    const tenants = { stats: () => ({ hits: 9, misses: 3, size: 2 }) };
    const caches = cacheStatsProviders({ tenants, users: { get: () => undefined }, permissions: undefined, enablement: { stats: 'not a function' } });
    expect(caches.map((c) => c.name)).toEqual(['tenants']);
    const metrics = metricsWith(client, { pool: idlePool, caches, logger: silent });
    const text = parsePrometheusText(await metrics.render());
    expect(text.types.get('foundation_cache_hits_total')).toBe('counter');
    expect(text.value('foundation_cache_hits_total', { cache: 'tenants' })).toBe(9);
    expect(text.value('foundation_cache_misses_total', { cache: 'tenants' })).toBe(3);
    expect(text.value('foundation_cache_hit_ratio', { cache: 'tenants' })).toBe(0.75);
    expect(text.value('foundation_cache_entries', { cache: 'tenants' })).toBe(2);
    expect(text.value('foundation_db_pool_max_connections')).toBe(4);
  });

  it('follows the cache\'s own totals at each scrape, and skips one whose stats() throws, with a warning', async () => {
    let hits = 1;
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }) });
    const metrics = metricsWith(client, {
      pool: idlePool, logger,
      caches: [{ name: 'users', stats: () => ({ hits, misses: 0 }) }, { name: 'broken', stats: () => { throw new Error('cache gone'); } }],
    });
    expect(parsePrometheusText(await metrics.render()).value('foundation_cache_hits_total', { cache: 'users' })).toBe(1);
    hits = 5;
    const text = parsePrometheusText(await metrics.render());
    expect(text.value('foundation_cache_hits_total', { cache: 'users' })).toBe(5);
    expect(text.find('foundation_cache_hits_total', { cache: 'broken' })).toEqual([]);
    expect(lines.join('')).toContain('cache gone');
  });
});

describe('request metrics', () => {
  it(`gives a plugin at most ${MAX_ROUTES_PER_PLUGIN} route labels; later patterns share ${OTHER_ROUTE}`, async () => {
    const metrics = metricsWith(client, { pool: idlePool, logger: silent });
    for (let i = 0; i < MAX_ROUTES_PER_PLUGIN + 20; i += 1) metrics.observe(record({ route: `/r${i}` }));
    metrics.observe(record({ route: '/r0', method: 'BREW' }));
    const text = parsePrometheusText(await metrics.render());
    const routes = new Set(text.find('foundation_plugin_requests_total').map((s) => s.labels.route));
    expect(routes.size).toBe(MAX_ROUTES_PER_PLUGIN + 1);
    expect(text.value('foundation_plugin_requests_total', { route: OTHER_ROUTE })).toBe(20);
    expect(text.value('foundation_plugin_requests_total', { route: '/r0', method: 'OTHER' })).toBe(1);
  });

  it('keeps each registry apart: two sets of metrics in one process neither collide nor share counts', async () => {
    const one = metricsWith(client, { pool: idlePool, logger: silent, pluginIds: ['items', 'quiet'] });
    const two = metricsWith(client, { pool: idlePool, logger: silent });
    one.observe(record({}));
    const text = parsePrometheusText(await one.render());
    expect(text.value('foundation_plugin_requests_total', { route: '/items' })).toBe(1);
    // Present at 0 before any error, so an alert on rate(...) has a series to read.
    expect(text.find('foundation_plugin_errors_total')).toEqual([
      { name: 'foundation_plugin_errors_total', labels: { plugin: 'items' }, value: 0 },
      { name: 'foundation_plugin_errors_total', labels: { plugin: 'quiet' }, value: 0 },
    ]);
    expect(parsePrometheusText(await two.render()).find('foundation_plugin_requests_total')).toEqual([]);
    expect(await prom.register.metrics()).not.toContain('foundation_');
  });
});

describe('without prom-client installed', () => {
  it('serves no metrics and says why, rather than refusing the start', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }) });
    const missing = () => Promise.reject(Object.assign(new Error("Cannot find package 'prom-client'"), { code: 'ERR_MODULE_NOT_FOUND' }));
    expect(await createMetrics({ pool: idlePool, logger }, missing)).toBeUndefined();
    expect(lines.join('')).toContain('metrics are off: the package prom-client is not installed');
    await expect(createMetrics({ pool: idlePool, logger }, () => Promise.reject(new Error('broken package')))).rejects.toThrow('broken package');
    expect(await createMetrics({ pool: idlePool, logger })).toBeDefined();
  });
});

describe('admin figures', () => {
  it('counts since start, errors are 5xx only, and p95 is taken over the latest window of requests', () => {
    const stats = createPluginStats(['items', 'quiet'], { window: 20 });
    for (let i = 1; i <= 100; i += 1) stats.observe(record({ durationMs: 1000 + i }));   // pushed out of the window
    for (let i = 1; i <= 20; i += 1) stats.observe(record({ durationMs: i, status: i === 20 ? 503 : i === 19 ? 404 : 200 }));
    stats.observe(record({ pluginId: 'not-loaded' }));
    const { plugins, p95Window } = stats.snapshot();
    expect(p95Window).toBe(20);
    expect(plugins).toEqual([
      { id: 'items', requests: 120, errors: 1, errorRate: 1 / 120, p95Ms: 19, statusClasses: { '2xx': 118, '3xx': 0, '4xx': 1, '5xx': 1 } },
      { id: 'quiet', requests: 0, errors: 0, errorRate: 0, p95Ms: null, statusClasses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } },
    ]);
  });
});

describe('host permissions', () => {
  it('live in the namespace of a reserved plugin id, so no module can declare or remove them', () => {
    expect(HOST_PERMISSION_NAMESPACE).toBe('admin');
    expect(pluginIdProblem(HOST_PERMISSION_NAMESPACE)).toMatch(/reserved/);
    for (const permission of Object.values(HOST_PERMISSIONS)) expect(hostPermissionProblem(permission)).toBeUndefined();
    expect(hostPermissionProblem('admin.plugins.write')).toMatch(/not a permission the host defines/);
    expect(hostPermissionProblem('items.items.read')).toMatch(/namespaced/);
  });
});

describe('a plugin\'s last minute (what a job\'s guardrail reads)', () => {
  it('counts the requests and 5xx answers of the last 60 seconds only', () => {
    let clock = 1_000_000_000_000;
    const stats = createPluginStats(['items'], { now: () => clock });
    const answer = (status: number) => stats.observe({ pluginId: 'items', status, durationMs: 1 } as never);
    for (const status of [200, 500, 404, 503]) answer(status);
    expect(stats.lastMinute('items')).toEqual({ requests: 4, errors: 2, errorRate: 0.5 });
    clock += 30_000;
    answer(200);
    expect(stats.lastMinute('items')).toEqual({ requests: 5, errors: 2, errorRate: 0.4 });
    clock += 31_000; // the first four are now older than a minute
    expect(stats.lastMinute('items')).toEqual({ requests: 1, errors: 0, errorRate: 0 });
    clock += 120_000;
    expect(stats.lastMinute('items')).toEqual({ requests: 0, errors: 0, errorRate: 0 });
    expect(stats.lastMinute('unknown')).toEqual({ requests: 0, errors: 0, errorRate: 0 });
  });
});
