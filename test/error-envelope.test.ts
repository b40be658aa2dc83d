import { Writable } from 'node:stream';
import fs from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { moduleVariant } from './helpers/examples.ts';

describe('an unexpected error in a plugin route', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  let t: TestSandbox;
  let dir: string;
  beforeAll(async () => {
    dir = moduleVariant({
      'plugin/items.ts': (old) => old.replace('const r = ctx.router;', `const r = ctx.router;
    r.get('/explode', ctx.rbac.require('items.items.read'), async () => { throw new Error('secret internals at /srv/app.ts:42'); });`),
    });
    t = await startTestSandbox({ moduleDirs: [dir], serverUrl: databaseServers()[0]!.url, logger: pino({ level: 'error' }, sink) });
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 500 with the envelope and no internals, and logs the stack with plugin, tenant and request', async () => {
    const res = await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/items/explode').set('X-Request-Id', 'req-500').expect(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: expect.any(String), requestId: 'req-500' } });
    expect(JSON.stringify(res.body)).not.toContain('secret internals');
    const { id: devId } = await t.sandbox.tenancy.get('dev');
    const logged = lines.find((l) => l.requestId === 'req-500');
    expect(logged).toMatchObject({ pluginId: 'items', tenantId: devId, level: 50 });
    expect((logged!.err as { stack: string }).stack).toContain('secret internals');
  });
});
