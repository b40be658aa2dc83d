/**
 * The shell's Plugins page reads what the real admin API answers: a sandbox with the example
 * modules, some traffic, then GET /api/admin/plugins/stats read by the page's own reader, and its
 * refusals described by the page's own error text. The page itself is in shell-plugin-stats.test.tsx.
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { describeApiMessage, readApiError } from '../client/src/api.ts';
import { PLUGIN_STATS_PATH, readPluginStats, STATUS_CLASSES, type PluginFigures, type PluginStats } from '../client/src/plugin-stats.ts';
import type { PluginStatsSnapshot } from '../sandbox/observability/plugin-stats.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE, WAREHOUSE_MODULE } from './helpers/examples.ts';

const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';

/** The keys the page reads, as named in the client's types. */
const STATS_KEYS: (keyof PluginStats)[] = ['since', 'p95Window', 'plugins'];
const FIGURE_KEYS: (keyof PluginFigures)[] = ['id', 'requests', 'errors', 'errorRate', 'p95Ms', 'statusClasses'];

const sorted = (keys: Iterable<string>) => [...keys].sort();

/** A supertest answer as the browser's `fetch` would hand it to the shell. */
function asResponse(res: { status: number; text: string }): Response {
  return new Response(res.text, { status: res.status, headers: { 'Content-Type': 'application/json' } });
}

it('the client declares the type the sandbox answers with', () => {
  expectTypeOf<PluginStatsSnapshot>().toEqualTypeOf<PluginStats>();
});

describe.each(databaseServers())('the Plugins page against the real admin API on $name PostgreSQL', (server) => {
  let t: TestSandbox;

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE, WAREHOUSE_MODULE], serverUrl: server.url });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the keys the page reads, and the page reads the figures', async () => {
    await t.as(ADMIN, 'dev').get('/api/plugins/items/items').expect(200);
    await t.as(ADMIN, 'dev').get('/api/plugins/items/no/such/route').expect(404);

    // The figures are counted when the answer is done, a hair after the client has it.
    let body: Record<string, unknown> & { plugins: Record<string, unknown>[] };
    for (let tries = 0; ; tries += 1) {
      body = (await t.as(ADMIN, 'dev').get(PLUGIN_STATS_PATH).expect(200)).body;
      if ((body.plugins.find((p) => p.id === 'items')?.requests as number) >= 2 || tries > 100) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    // Exactly the keys the page knows: a field added to the API is then a choice to show it or not.
    expect(sorted(Object.keys(body))).toEqual(sorted(STATS_KEYS));
    expect(body.plugins.map((p) => p.id)).toEqual(['items', 'warehouse']);
    for (const plugin of body.plugins) {
      expect(sorted(Object.keys(plugin))).toEqual(sorted(FIGURE_KEYS));
      expect(sorted(Object.keys(plugin.statusClasses as object))).toEqual(sorted(STATUS_CLASSES));
    }

    const stats = readPluginStats(body);
    const [items, warehouse] = stats.plugins;
    expect(items).toMatchObject({ id: 'items', requests: 2, errors: 0, errorRate: 0, statusClasses: { '2xx': 1, '3xx': 0, '4xx': 1, '5xx': 0 } });
    expect(items!.p95Ms).toEqual(expect.any(Number));
    // No traffic yet: the page shows a dash for a null p95, and its empty state when all are like this.
    expect(warehouse).toMatchObject({ id: 'warehouse', requests: 0, p95Ms: null });
  });

  it('refuses with envelopes the page shows in the API\'s own words', async () => {
    const forbidden = await readApiError(asResponse(await t.as(USER, 'dev').get(PLUGIN_STATS_PATH).expect(403)));
    expect(describeApiMessage(forbidden)).toMatch(/^You lack the permission admin\.plugins\.read in tenant dev\. \(FORBIDDEN, request [0-9a-f]{8}…\)$/);

    const anonymous = await readApiError(asResponse(await t.request.get(PLUGIN_STATS_PATH).expect(401)));
    expect(describeApiMessage(anonymous)).toMatch(/^This route needs a signed-in user in a tenant \(permission admin\.plugins\.read\)\. \(UNAUTHENTICATED/);
  });
});
