/**
 * Issue 17: `ctx.events`. Names are namespaced by plugin (rules/event-name.ts): a plugin emits
 * only its own, listens to any; a bad name throws at the call (hostile names table). Handlers get
 * `(payload, { name, payload, tenantId, emittedBy })`, run in registration order, and one that
 * throws is logged with the listener's id and stops nothing. An event emitted inside a tenant
 * transaction is delivered after its commit, never on rollback (savepoints included).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../sandbox/plugins/events.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, capturedLogger, removeCapabilityModules, type CapturedLogger } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

interface Seen { by: string; payload: unknown; name: string; tenantId: string | null; emittedBy: string; insideWrite?: boolean }
const seen = (): Seen[] => ((globalThis as { __pluginEvents?: Seen[] }).__pluginEvents ??= []);

// Listens first (its module is loaded first): its handlers run before the emitter's own.
const AUDIT = `
const seen = ((globalThis as any).__pluginEvents ??= []);
const plugin: FoundationPlugin = {
  meta: { id: 'audit', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    // Whether the handler runs inside the emitter's transaction: there, a savepoint sees its write's xid.
    const insideWrite = async (tenantId: string | null) => tenantId === null ? undefined
      : (await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`SELECT pg_current_xact_id_if_assigned()::text AS xid\`))).rows[0]!.xid !== null;
    ctx.events.on('orders.ready', (payload, event) => { seen.push({ by: 'audit-ready', payload, ...event }); });
    ctx.events.on('orders.placed', async (payload, event) => { seen.push({ by: 'audit-1', payload, ...event, insideWrite: await insideWrite(event.tenantId) }); });
    ctx.events.on('orders.placed', () => { throw new Error('the audit handler broke'); });
    ctx.events.on('orders.placed', (payload, event) => { seen.push({ by: 'audit-3', payload, ...event }); });
  },
};
export default plugin;
`;

const ORDERS = `
const seen = ((globalThis as any).__pluginEvents ??= []);
const plugin: FoundationPlugin = {
  meta: { id: 'orders', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    await ctx.events.emit('orders.ready', { at: 'register' });
    ctx.events.on('orders.placed', (payload) => { seen.push({ by: 'orders-own', payload }); });
    const insert = (db: any, n: number) => db.execute(sql\`INSERT INTO orders_orders (n) VALUES (\${n})\`);
    ctx.router.post('/place', async (req, res) => {
      const { tenantId } = ctx.auth(req);
      const { mode, n, tenant } = req.body;
      if (mode === 'request') await ctx.events.emit('orders.placed', { n });
      if (mode === 'tx') {
        await ctx.withTenantTx(tenant ?? tenantId, async (db) => {
          await insert(db, n);
          await ctx.events.emit('orders.placed', { n });
          seen.push({ by: 'emitter-after-emit', payload: { n } });
        });
      }
      if (mode === 'rollback') {
        await ctx.withTenantTx(tenantId, async (db) => {
          await insert(db, n);
          await ctx.events.emit('orders.placed', { n });
          throw ctx.httpError(409, 'ORDER_REFUSED', 'refused after emitting');
        });
      }
      if (mode === 'savepoint') {
        await ctx.withTenantTx(tenantId, async (db) => {
          await insert(db, n);
          await ctx.events.emit('orders.placed', { step: 'before' });
          try {
            await ctx.withTenantTx(tenantId, async (inner) => {
              await insert(inner, n + 1);
              await ctx.events.emit('orders.placed', { step: 'inner' });
              throw new Error('the savepoint fails');
            });
          } catch {}
          await ctx.events.emit('orders.placed', { step: 'after' });
        });
      }
      res.json({ ok: true });
    });
  },
};
export default plugin;
`;

describe.each(databaseServers())('ctx.events on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let log: CapturedLogger;
  let dev: string;
  let acme: string;
  beforeAll(async () => {
    const audit = capabilityModule('audit', { plugin: AUDIT });
    const orders = capabilityModule('orders', { plugin: ORDERS, migrations: { 'tenant/001_init.sql': 'CREATE TABLE orders_orders (n int NOT NULL);\n' } });
    log = capturedLogger();
    t = await startTestSandbox({ moduleDirs: [audit, orders], serverUrl: server.url, logger: log.logger });
    dev = (await t.sandbox.tenancy.get('dev')).id;
    acme = (await t.sandbox.tenancy.get('acme')).id;
  });
  afterAll(() => t?.close());
  beforeEach(() => {
    seen().length = 0;
  });
  const place = (body: Record<string, unknown>, tenant = 'dev') => t.as('admin@sandbox.dev', tenant).post('/api/plugins/orders/place').send(body);

  it('delivers an event emitted at registration with no tenant', async () => {
    // Emitted while the sandbox started (before beforeEach cleared the list): check the log of it instead.
    const fresh = await startTestSandbox({ moduleDirs: t.sandbox.plugins.map((p) => p.dir), serverUrl: server.url });
    try {
      expect(seen().filter((s) => s.by === 'audit-ready')).toEqual([{ by: 'audit-ready', payload: { at: 'register' }, name: 'orders.ready', tenantId: null, emittedBy: 'orders' }]);
    } finally {
      await fresh.close();
    }
  });

  it('runs handlers in registration order with the request\'s tenant; a throwing one is logged with the listener\'s id and stops nothing', async () => {
    await place({ mode: 'request', n: 1 }).expect(200);
    expect(seen().map((s) => s.by)).toEqual(['audit-1', 'audit-3', 'orders-own']);
    expect(seen()[0]).toMatchObject({ payload: { n: 1 }, name: 'orders.placed', tenantId: dev, emittedBy: 'orders', insideWrite: false });
    const failure = log.lines().find((line) => line.msg === 'handler of event orders.placed failed');
    expect(failure).toMatchObject({ level: 50, pluginId: 'audit', event: 'orders.placed', emittedBy: 'orders', tenantId: dev, err: { message: 'the audit handler broke' } });
  });

  it('delivers an event emitted in a transaction after its commit, carrying the transaction\'s tenant', async () => {
    await place({ mode: 'tx', n: 2, tenant: 'acme' }).expect(200);
    // The emitter went on before any handler ran; the handlers' own transaction saw no write of the emitter's.
    expect(seen().map((s) => s.by)).toEqual(['emitter-after-emit', 'audit-1', 'audit-3', 'orders-own']);
    expect(seen()[1]).toMatchObject({ payload: { n: 2 }, tenantId: acme, emittedBy: 'orders', insideWrite: false });
    expect(await t.sql(`SELECT n FROM tenant_acme.orders_orders WHERE n = 2`)).toEqual([{ n: 2 }]);
  });

  it('drops an event whose transaction rolls back', async () => {
    const refused = await place({ mode: 'rollback', n: 3 }).expect(409);
    expect(refused.body.error.code).toBe('ORDER_REFUSED');
    expect(seen()).toEqual([]);
    expect(await t.sql(`SELECT n FROM tenant_dev.orders_orders WHERE n = 3`)).toEqual([]);
  });

  it('drops the events of a savepoint that rolls back, and delivers the rest in order after the commit', async () => {
    await place({ mode: 'savepoint', n: 10 }).expect(200);
    expect(seen().filter((s) => s.by === 'audit-3').map((s) => s.payload)).toEqual([{ step: 'before' }, { step: 'after' }]);
    expect(await t.sql(`SELECT n FROM tenant_dev.orders_orders WHERE n >= 10 ORDER BY n`)).toEqual([{ n: 10 }]);
  });
});

describe('event names (hostile values table)', () => {
  const bus = createEventBus(capturedLogger().logger);
  const orders = bus.forPlugin('orders');

  it.each([
    ['', /must be "<plugin id>\.<event>"/], ['placed', /must be "<plugin id>\.<event>"/], ['orders', /must be "<plugin id>\.<event>"/],
    ['orders.', /lowercase words/], ['.placed', /must start with a plugin id/], ['Orders.placed', /must start with a plugin id/],
    ['orders..placed', /lowercase words/], ['orders.Placed', /lowercase words/], ['orders.1st', /lowercase words/], ['orders.placed.', /lowercase words/],
    ['orders.pla ced', /lowercase words/], ['orders.placed\0', /lowercase words/], ['orders.placed\n', /lowercase words/], ['orders.*', /lowercase words/],
    ['api.placed', /"api" is not a plugin id/], ['../orders.placed', /must start with a plugin id/], ['__proto__', /must be "<plugin id>\.<event>"/],
    ['orders.__proto__', /lowercase words/], [`orders.${'a'.repeat(200)}`, /at most 120 characters/],
    [null, /must be a string \(got null\)/], [undefined, /must be a string/], [42, /must be a string \(got number\)/], [{ toString: () => 'orders.placed' }, /must be a string \(got object\)/],
    [['orders.placed'], /must be a string/], [Symbol('orders.placed'), /must be a string/],
  ])('refuses to listen to %s, at the call', (name, rule) => {
    expect(() => orders.on(name as string, () => {})).toThrow(TypeError);
    expect(() => orders.on(name as string, () => {})).toThrow(rule);
    expect(() => orders.emit(name as string, {})).toThrow(rule);
  });

  it('lets a plugin listen to any plugin\'s events but emit only its own, refusing at the call', async () => {
    expect(() => orders.on('billing.invoice.paid', () => {})).not.toThrow();
    expect(() => orders.on('stock-ledger.entry_posted', () => {})).not.toThrow();
    expect(() => orders.emit('billing.invoice.paid', {})).toThrow(/Plugin "orders" emits event "billing\.invoice\.paid", which it may not: .*"orders\.<event>"/);
    expect(() => orders.emit('ordersx.placed', {})).toThrow(/namespaced by the emitting plugin's id/);
    await expect(orders.emit('orders.item-added')).resolves.toBeUndefined(); // no listener, no payload: fine
    // Names are keys of a Map, never of a plain object: a plugin called "constructor" is just a plugin.
    const got: unknown[] = [];
    orders.on('constructor.placed', (payload) => { got.push(payload); });
    await bus.forPlugin('constructor').emit('constructor.placed', 1);
    expect(got).toEqual([1]);
  });

  it('refuses a handler that is not a function', () => {
    for (const handler of [undefined, null, 'log', {}, 42]) {
      expect(() => orders.on('orders.placed', handler as never)).toThrow(/with a handler that is not a function/);
    }
  });

  it('delivers payloads as they are, hostile ones included', async () => {
    const got: unknown[] = [];
    bus.forPlugin('audit').on('orders.odd', (payload) => { got.push(payload); });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const payloads = [undefined, null, 'x'.repeat(1_000_000), JSON.parse('{"__proto__": {"polluted": true}}'), circular, () => 'f'];
    for (const payload of payloads) await orders.emit('orders.odd', payload);
    expect(got).toEqual(payloads);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a handler registered while an event is delivered gets the next one, not that one', async () => {
    const got: string[] = [];
    const listener = bus.forPlugin('audit');
    listener.on('orders.nested', () => {
      got.push('first');
      if (got.length === 1) listener.on('orders.nested', () => { got.push('late'); });
    });
    await orders.emit('orders.nested');
    expect(got).toEqual(['first']);
    await orders.emit('orders.nested');
    expect(got).toEqual(['first', 'first', 'late']);
  });
});
