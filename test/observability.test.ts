/**
 * Issue 17, observability: one log line per plugin request (route pattern, never the raw URL),
 * 5xx answers that show a code and keep the stack in the log, Prometheus metrics at /metrics, and
 * the admin API's per-plugin figures behind `admin.plugins.read`.
 */
import fs from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { UNMATCHED_ROUTE } from '../sandbox/observability/route-pattern.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { observabilityProbeModule } from './helpers/observability-probes.ts';
import { parsePrometheusText, type Exposition } from './helpers/prometheus-text.ts';

const BASE = '/api/plugins/items';
const ADMIN = 'admin@sandbox.dev';
const STATS = '/api/admin/plugins/stats';
const REQUESTS = 'foundation_plugin_requests_total';
const DURATION = 'foundation_plugin_request_duration_seconds';
type LogLine = Record<string, unknown> & { msg?: string; requestId?: string; level?: number };

/** Polls `get` until it gives a value: the log line and the counts are written when the response closes, a hair after the client has it. */
async function eventually<T>(get: () => T | undefined | Promise<T | undefined>, what: string, ms = 2_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(databaseServers())('observability on $name PostgreSQL', (server) => {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  let t: TestSandbox;
  let dir: string;
  let devId: string;
  const requestLine = (requestId: string) => eventually(() => lines.find((l) => l.msg === 'request' && l.requestId === requestId), `request line ${requestId}`);
  const scrape = async (): Promise<Exposition> => parsePrometheusText((await t.request.get('/metrics').expect(200)).text);
  const id = () => `obs-${randomUUID()}`;

  beforeAll(async () => {
    dir = observabilityProbeModule();
    t = await startTestSandbox({ moduleDirs: [dir], serverUrl: server.url, logger: createLogger({ level: 'info', destination: sink }) });
    devId = (await t.sandbox.tenancy.get('dev')).id;
  });
  afterAll(async () => {
    await t?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs one line per request with the route pattern, for a 200 and for 404s inside the plugin', async () => {
    const ok = id();
    await t.as(ADMIN, 'dev').get(`${BASE}/items`).set('X-Request-Id', ok).expect(200);
    const line = await requestLine(ok);
    expect(line).toMatchObject({ level: 30, service: 'sandbox', msg: 'request', pluginId: 'items', tenantId: devId, route: '/items', method: 'GET', status: 200, requestId: ok });
    expect(line.durationMs).toEqual(expect.any(Number));
    expect(line.durationMs as number).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines.filter((l) => l.msg === 'request' && l.requestId === ok)).toHaveLength(1);

    const missingItem = id();
    const uuid = randomUUID();
    await t.as(ADMIN, 'dev').get(`${BASE}/items/${uuid}`).set('X-Request-Id', missingItem).expect(404);
    const itemLine = await requestLine(missingItem);
    expect(itemLine).toMatchObject({ route: '/items/:itemId', status: 404, tenantId: devId });
    expect(JSON.stringify(itemLine)).not.toContain(uuid);

    const noRoute = id();
    await t.as(ADMIN, 'dev').get(`${BASE}/no/such/route`).set('X-Request-Id', noRoute).expect(404);
    expect(await requestLine(noRoute)).toMatchObject({ pluginId: 'items', route: UNMATCHED_ROUTE, status: 404, tenantId: devId });

    const nested = id();
    await t.as(ADMIN, 'dev').get(`${BASE}/orders/o-17/lines/l-4`).set('X-Request-Id', nested).expect(200);
    expect(await requestLine(nested)).toMatchObject({ route: '/orders/:orderId/lines/:lineId', status: 200 });

    const health = id();
    await t.request.get(`${BASE}/health`).set('X-Request-Id', health).expect(200);
    const healthLine = await requestLine(health);
    expect(healthLine).toMatchObject({ pluginId: 'items', route: '/health', status: 200 });
    expect(healthLine).not.toHaveProperty('tenantId');
  });

  it('logs the requests refused before the plugin: 401, 403 PLUGIN_DISABLED, 415', async () => {
    const unknownUser = id();
    await t.as('ghost@sandbox.dev', 'dev').get(`${BASE}/items`).set('X-Request-Id', unknownUser).expect(401);
    const line401 = await requestLine(unknownUser);
    expect(line401).toMatchObject({ pluginId: 'items', route: UNMATCHED_ROUTE, method: 'GET', status: 401 });
    expect(line401).not.toHaveProperty('tenantId');

    await t.sql(`UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'items' AND tenant_id = $1`, [devId]);
    await t.sandbox.refresh();
    try {
      const disabled = id();
      const res = await t.as(ADMIN, 'dev').get(`${BASE}/items`).set('X-Request-Id', disabled).expect(403);
      expect(res.body.error.code).toBe('PLUGIN_DISABLED');
      expect(await requestLine(disabled)).toMatchObject({ pluginId: 'items', tenantId: devId, route: UNMATCHED_ROUTE, status: 403 });
    } finally {
      await t.sql(`UPDATE sys_tenant_plugins SET enabled = true WHERE plugin_id = 'items' AND tenant_id = $1`, [devId]);
      await t.sandbox.refresh();
    }

    const wrongType = id();
    await t.as(ADMIN, 'dev').post(`${BASE}/items`).set('X-Request-Id', wrongType).set('Content-Type', 'text/plain').send('name=x').expect(415);
    expect(await requestLine(wrongType)).toMatchObject({ pluginId: 'items', method: 'POST', status: 415 });
  });

  it('answers a thrown error with code and message only, and logs its stack with plugin, tenant and request', async () => {
    const thrown = id();
    const res = await t.as(ADMIN, 'dev').get(`${BASE}/probe/explode`).set('X-Request-Id', thrown).expect(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: expect.any(String), requestId: thrown } });
    expect(res.text).not.toMatch(/secret internals|observability-probes|\n\s+at /);
    const error = await eventually(() => lines.find((l) => l.requestId === thrown && l.level === 50), 'the error line');
    expect(error).toMatchObject({ pluginId: 'items', tenantId: devId, code: 'INTERNAL', requestId: thrown });
    const stack = (error.err as { stack?: string }).stack ?? '';
    expect(stack).toContain('secret internals');
    expect(stack).toContain('observability-probes.ts');
    expect(await requestLine(thrown)).toMatchObject({ route: '/probe/explode', status: 500, tenantId: devId });

    const badSql = id();
    const sqlRes = await t.as(ADMIN, 'dev').get(`${BASE}/probe/bad-sql`).set('X-Request-Id', badSql).expect(500);
    expect(sqlRes.body).toEqual({ error: { code: 'INTERNAL', message: expect.any(String), requestId: badSql } });
    expect(sqlRes.text).not.toMatch(/no_such_table|secret_column|SELECT/i);
    const sqlError = await eventually(() => lines.find((l) => l.requestId === badSql && l.level === 50), 'the SQL error line');
    expect(JSON.stringify(sqlError.err)).toContain('no_such_table_xyz');
    expect(sqlError).toMatchObject({ pluginId: 'items', tenantId: devId });
  });

  it('serves counters with plugin, route, method and status class at /metrics, and the duration histogram', async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i += 1) await t.as(ADMIN, 'dev').get(`${BASE}/items`).expect(200);
    for (let i = 0; i < 2; i += 1) await t.as(ADMIN, 'dev').get(`${BASE}/items/${randomUUID()}`).expect(404);
    await t.as(ADMIN, 'dev').get(`${BASE}/probe/explode`).expect(500);
    await t.request.get(`${BASE}/probe/sleep?ms=40`).expect(200);
    const delta = (after: Exposition, name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    const list = { plugin: 'items', route: '/items', method: 'GET', status_class: '2xx' };
    const after = await eventually(async () => {
      const now = await scrape();
      return delta(now, `${DURATION}_count`, { plugin: 'items', route: '/probe/sleep', method: 'GET' }) === 1 ? now : undefined;
    }, 'the slow request in /metrics');

    expect(after.types.get(REQUESTS)).toBe('counter');
    expect(after.types.get('foundation_plugin_errors_total')).toBe('counter');
    expect(after.types.get(DURATION)).toBe('histogram');
    expect(delta(after, REQUESTS, list)).toBe(3);
    expect(delta(after, REQUESTS, { plugin: 'items', route: '/items/:itemId', method: 'GET', status_class: '4xx' })).toBe(2);
    expect(delta(after, REQUESTS, { plugin: 'items', route: '/probe/explode', method: 'GET', status_class: '5xx' })).toBe(1);
    expect(delta(after, 'foundation_plugin_errors_total', { plugin: 'items' })).toBe(1);

    const slow = { plugin: 'items', route: '/probe/sleep', method: 'GET' };
    expect(delta(after, `${DURATION}_bucket`, { ...slow, le: '0.025' })).toBe(0);
    expect(delta(after, `${DURATION}_bucket`, { ...slow, le: '+Inf' })).toBe(1);
    // The probe waits 40 ms; timers and the clock that measures them differ by a fraction of a millisecond.
    expect(delta(after, `${DURATION}_sum`, slow)).toBeGreaterThanOrEqual(0.039);
    expect(delta(after, `${DURATION}_count`, { plugin: 'items', route: '/items', method: 'GET' })).toBe(3);
  });

  it('serves /metrics without identity and outside CORS: a foreign page gets no CORS headers, a scraper its text', async () => {
    const res = await t.request.get('/metrics').set('Origin', 'https://elsewhere.example').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(t.sandbox.metrics).toBeDefined();
  });

  it('reads the pool gauges when scraped: open, idle, in use, waiting', async () => {
    const pool = t.sandbox.database.pool;
    const held = await Promise.all(Array.from({ length: 5 }, () => pool.connect()));   // the test sandbox's pool holds 5
    const waiting = pool.connect();
    try {
      const metrics = await scrape();
      expect(metrics.types.get('foundation_db_pool_connections')).toBe('gauge');
      expect(metrics.value('foundation_db_pool_max_connections')).toBe(5);
      expect(metrics.value('foundation_db_pool_connections')).toBe(5);
      expect(metrics.value('foundation_db_pool_in_use_connections')).toBe(5);
      expect(metrics.value('foundation_db_pool_idle_connections')).toBe(0);
      expect(metrics.value('foundation_db_pool_waiting_requests')).toBeGreaterThanOrEqual(1);
    } finally {
      for (const client of held) client.release();
      (await waiting).release();
    }
    const idle = await scrape();
    expect(idle.value('foundation_db_pool_waiting_requests')).toBe(0);
    expect(idle.value('foundation_db_pool_idle_connections')).toBe(idle.value('foundation_db_pool_connections') - idle.value('foundation_db_pool_in_use_connections'));
  });

  it('exports the figures of every host cache that counts its hits, under its name', async () => {
    await t.as(ADMIN, 'dev').get(`${BASE}/items`).expect(200);
    const candidates = { tenants: t.sandbox.tenancy, users: t.sandbox.identity, permissions: t.sandbox.rbac } as Record<string, { stats?: () => { hits: number; misses: number } }>;
    const counting = Object.entries(candidates).filter(([, cache]) => typeof cache.stats === 'function');
    const metrics = await scrape();
    for (const [name, cache] of counting) {
      const { hits, misses } = cache.stats!();
      expect(metrics.value('foundation_cache_hits_total', { cache: name }), name).toBe(hits);
      expect(metrics.value('foundation_cache_misses_total', { cache: name }), name).toBe(misses);
      expect(hits + misses, name).toBeGreaterThan(0);
    }
    const exported = new Set(metrics.find('foundation_cache_hits_total').map((s) => s.labels.cache));
    expect([...exported].sort()).toEqual(expect.arrayContaining(counting.map(([name]) => name)));
  });

  it('keeps the route label bounded whatever paths a caller sends', async () => {
    const noise = Array.from({ length: 30 }, () => randomBytes(24).toString('hex'));
    for (const word of noise.slice(0, 10)) await t.as(ADMIN, 'dev').get(`${BASE}/${word}/${'x'.repeat(200)}`).expect(404);
    for (const word of noise.slice(10, 20)) await t.as(ADMIN, 'dev').get(`${BASE}/items/${word}`);
    for (const word of noise.slice(20)) await t.request.get(`/api/plugins/${word}/items`).expect(404);
    const lastLine = id();
    await t.request.get(`${BASE}/${noise[0]}`).set('X-Request-Id', lastLine).expect(404);
    await requestLine(lastLine);

    const metrics = await scrape();
    const series = metrics.samples.filter((s) => s.name.startsWith('foundation_plugin_'));
    const routes = new Set(series.map((s) => s.labels.route).filter((r) => r !== undefined));
    const declared = ['/items', '/items/:itemId', '/probe/explode', '/probe/bad-sql', '/probe/sleep', '/orders/:orderId/lines/:lineId', '/health', UNMATCHED_ROUTE];
    expect([...routes].filter((r) => !declared.includes(r!))).toEqual([]);
    expect(new Set(series.map((s) => s.labels.plugin))).toEqual(new Set(['items']));
    const text = JSON.stringify(series);
    for (const word of noise) expect(text).not.toContain(word);
  });

  it('serves no /metrics with `metrics: false`, and keeps each sandbox\'s counts apart', async () => {
    const quiet = { moduleDirs: [dir], databaseUrl: t.database.url, logger: createLogger({ level: 'silent' }), listenForChanges: false, maxConnections: 3 };
    const off = await createSandbox({ ...quiet, metrics: false });
    const other = await createSandbox(quiet);
    try {
      expect(off.metrics).toBeUndefined();
      expect((await supertest(off.app).get('/metrics').expect(404)).body.error.code).toBe('NOT_FOUND');
      await supertest(other.app).get(`${BASE}/items`).set('X-User-Id', ADMIN).set('X-Tenant-Id', 'dev').expect(200);
      const counted = await eventually(async () => {
        const exposition = parsePrometheusText((await supertest(other.app).get('/metrics').expect(200)).text);
        return exposition.value(REQUESTS, { route: '/items', status_class: '2xx' }) > 0 ? exposition : undefined;
      }, 'the second sandbox\'s count');
      expect(counted.value(REQUESTS, { route: '/items', status_class: '2xx' })).toBe(1);
      expect((await scrape()).value(REQUESTS, { route: '/items', status_class: '2xx' })).toBeGreaterThan(1);
    } finally {
      await off.close();
      await other.close();
    }
  });

  it('answers the admin figures only to a caller holding admin.plugins.read, and they match the requests made', async () => {
    expect(await t.sql(`SELECT permission, plugin_id FROM sys_permission WHERE plugin_id = 'admin' AND permission = 'admin.plugins.read'`)).toEqual([{ permission: 'admin.plugins.read', plugin_id: 'admin' }]);
    const anonymous = await t.request.get(STATS).expect(401);
    expect(anonymous.body.error).toMatchObject({ code: 'UNAUTHENTICATED', requestId: expect.any(String) });
    const refused = await t.as('user@sandbox.dev', 'dev').get(STATS).expect(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'admin.plugins.read', requestId: expect.any(String) });

    const items = async () => ((await t.as(ADMIN, 'dev').get(STATS).expect(200)).body.plugins as { id: string; requests: number; errors: number; errorRate: number; p95Ms: number; statusClasses: Record<string, number> }[])[0]!;
    const before = await items();
    for (let i = 0; i < 4; i += 1) await t.as(ADMIN, 'dev').get(`${BASE}/items`).expect(200);
    await t.as(ADMIN, 'dev').get(`${BASE}/probe/explode`).expect(500);
    await t.as(ADMIN, 'dev').get(`${BASE}/no-such-route`).expect(404);
    const after = await eventually(async () => {
      const now = await items();
      return now.requests - before.requests === 6 ? now : undefined;
    }, 'six more requests in the admin figures');

    const { body } = await t.as(ADMIN, 'dev').get(STATS).expect(200);
    expect(body).toMatchObject({ since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), p95Window: 1024 });
    expect(after.id).toBe('items');
    expect(after.errors - before.errors).toBe(1);
    expect(after.statusClasses['2xx']! - before.statusClasses['2xx']!).toBe(4);
    expect(after.statusClasses['4xx']! - before.statusClasses['4xx']!).toBe(1);
    expect(after.errorRate).toBeCloseTo(after.errors / after.requests, 10);
    expect(after.p95Ms).toBeGreaterThan(0);
    const metrics = await scrape();
    expect(metrics.value('foundation_plugin_errors_total', { plugin: 'items' })).toBe(after.errors);
    expect(metrics.find(REQUESTS, { plugin: 'items' }).reduce((sum, s) => sum + s.value, 0)).toBe(after.requests);

    // The permission, not the user, opens it: granted in dev, it still does not count in acme.
    await t.grant('user@sandbox.dev', 'dev', ['admin.plugins.read']);
    await t.as('user@sandbox.dev', 'dev').get(STATS).expect(200);
    await t.as('user@sandbox.dev', 'acme').get(STATS).expect(403);
  });
});
