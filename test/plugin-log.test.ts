/**
 * Issue 17: `ctx.log`, a structured pino logger bound to the plugin: every line carries
 * `pluginId`, and `tenantId` and `requestId` when written during a request or a tenant transaction
 * (the transaction's tenant wins); levels `debug`, `info`, `warn`, `error`, and `ctx.log(msg, meta)`
 * as `info`. Hostile messages and fields table: a plugin can't forge the host's fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginLogger, MAX_MESSAGE_LENGTH } from '../sandbox/plugins/log.ts';
import { inScope } from '../sandbox/plugins/scope.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, capturedLogger, removeCapabilityModules, type CapturedLogger } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

const SCRIBE = `
const plugin: FoundationPlugin = {
  meta: { id: 'scribe', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.log('registered', { at: 'start' });
    ctx.router.get('/write', (req, res) => {
      ctx.log.debug('a debug line');
      ctx.log.info('an info line', { n: 1 });
      ctx.log.warn('a warning');
      ctx.log.error('an error', { err: new Error('boom') });
      ctx.log('the shorthand');
      res.json({ ok: true });
    });
    ctx.router.get('/in-tx', async (req, res) => {
      await ctx.withTenantTx('acme', async () => {
        await Promise.resolve();
        ctx.log.info('inside the transaction');
      });
      ctx.log.info('after the transaction');
      res.json({ ok: true });
    });
  },
};
export default plugin;
`;

describe.each(databaseServers())('ctx.log on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let log: CapturedLogger;
  beforeAll(async () => {
    log = capturedLogger('debug');
    t = await startTestSandbox({ moduleDirs: [capabilityModule('scribe', { plugin: SCRIBE })], serverUrl: server.url, logger: log.logger });
  });
  afterAll(() => t?.close());
  // The host's own access line of each request (`request`) carries the plugin id and request id too.
  const linesOf = (requestId: string) => log.lines().filter((line) => line.pluginId === 'scribe' && line.requestId === requestId && line.msg !== 'request');

  it('tags a line written at registration with the plugin only', () => {
    const line = log.lines().find((l) => l.msg === 'registered');
    expect(line).toMatchObject({ level: 30, pluginId: 'scribe', at: 'start' });
    expect(line).not.toHaveProperty('tenantId');
    expect(line).not.toHaveProperty('requestId');
  });

  it('tags a request\'s lines with its id and tenant, at each level', async () => {
    const res = await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/scribe/write').set('X-Request-Id', 'trace-log-1').expect(200);
    expect(res.headers['x-request-id']).toBe('trace-log-1');
    const dev = (await t.sandbox.tenancy.get('dev')).id;
    expect(linesOf('trace-log-1').map((l) => [l.level, l.msg, l.tenantId])).toEqual([
      [20, 'a debug line', dev], [30, 'an info line', dev], [40, 'a warning', dev], [50, 'an error', dev], [30, 'the shorthand', dev],
    ]);
    expect(linesOf('trace-log-1')[1]).toMatchObject({ n: 1 });
    expect(linesOf('trace-log-1')[3]).toMatchObject({ err: { type: 'Error', message: 'boom', stack: expect.any(String) } });
  });

  it('names the transaction\'s tenant inside withTenantTx, and the request\'s again after it', async () => {
    const res = await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/scribe/in-tx').expect(200);
    const requestId = res.headers['x-request-id'] as string;
    const [acme, dev] = [(await t.sandbox.tenancy.get('acme')).id, (await t.sandbox.tenancy.get('dev')).id];
    expect(linesOf(requestId).map((l) => [l.msg, l.tenantId])).toEqual([['inside the transaction', acme], ['after the transaction', dev]]);
  });

  it('keeps concurrent requests apart', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `concurrent-${i}`);
    await Promise.all(ids.map((id, i) => t.as('admin@sandbox.dev', i % 2 ? 'acme' : 'dev').get('/api/plugins/scribe/write').set('X-Request-Id', id).expect(200)));
    const [dev, acme] = [(await t.sandbox.tenancy.get('dev')).id, (await t.sandbox.tenancy.get('acme')).id];
    for (const [i, id] of ids.entries()) {
      expect(linesOf(id)).toHaveLength(5);
      expect(new Set(linesOf(id).map((l) => l.tenantId))).toEqual(new Set([i % 2 ? acme : dev]));
    }
  });
});

describe('ctx.log with hostile messages and fields', () => {
  const write = (msg: unknown, meta?: unknown, level: 'info' | 'error' = 'info') => {
    const { logger, lines } = capturedLogger('debug');
    createPluginLogger(logger, 'scribe')[level](msg as string, meta as Record<string, unknown>);
    const written = lines();
    expect(written).toHaveLength(1);
    return written[0]!;
  };
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;

  it.each([
    ['fields named like the host\'s', 'x', { pluginId: 'admin', level: 'fatal', msg: 'forged', time: 0, hostname: 'h', pid: 1, service: 's' },
      { pluginId: 'scribe', level: 30, msg: 'x', 'meta.pluginId': 'admin', 'meta.level': 'fatal', 'meta.msg': 'forged', 'meta.time': 0, 'meta.hostname': 'h', 'meta.pid': 1, 'meta.service': 's' }],
    ['a number as message', 42, undefined, { msg: '42' }],
    ['null as message', null, undefined, { msg: 'null' }],
    ['an object as message', { a: 1 }, undefined, { msg: '[object Object]' }],
    ['an array as fields', 'x', [1, 2], { meta: [1, 2] }],
    ['a string as fields', 'x', 'extra', { meta: 'extra' }],
    ['null as fields', 'x', null, { msg: 'x' }],
    ['an Error as fields', 'x', new Error('thrown'), { err: { message: 'thrown' } }],
    ['circular fields', 'x', circular, { name: 'loop', self: { name: 'loop', self: '[Circular]' } }],
    ['a bigint field', 'x', { big: 10n }, { big: 10 }],
    ['a NUL', 'a\0b', { k: 'c\0d' }, { msg: 'a\0b', k: 'c\0d' }],
    ['a tenantId field outside any scope', 'x', { tenantId: 'mine' }, { tenantId: 'mine' }],
  ])('writes %s as one valid JSON line, the plugin id intact', (_what, msg, meta, expected) => {
    const line = write(msg, meta);
    expect(line).toMatchObject({ pluginId: 'scribe', ...expected });
  });

  it('keeps a __proto__ field a field, polluting nothing', () => {
    const line = write('x', JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'));
    expect(line.ok).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(line)).toBe(Object.prototype);
  });

  it('cuts a huge message, saying how much', () => {
    const line = write('x'.repeat(MAX_MESSAGE_LENGTH + 5_000));
    expect(line.msg).toBe(`${'x'.repeat(MAX_MESSAGE_LENGTH)}… [5000 more characters cut]`);
  });

  it('lets the scope\'s tenant and request win over fields of the same name', () => {
    const { logger, lines } = capturedLogger('debug');
    inScope({ tenantId: 'real-tenant', requestId: 'real-request' }, () => createPluginLogger(logger, 'scribe')('x', { tenantId: 'forged', requestId: 'forged' }));
    expect(lines()[0]).toMatchObject({ tenantId: 'real-tenant', requestId: 'real-request' });
    expect(JSON.stringify(lines()[0])).not.toContain('forged');
  });

  it('writes nothing below the logger\'s level', () => {
    const { logger, lines } = capturedLogger('warn');
    const log = createPluginLogger(logger, 'scribe');
    log.debug('no');
    log.info('no');
    log('no');
    log.warn('yes');
    expect(lines().map((l) => l.msg)).toEqual(['yes']);
  });
});
