/**
 * Jobs over HTTP on a real sandbox, on both servers: preview and start with the permission of the
 * job's kind, progress as Server-Sent Events over a real connection (counts only rise, ids only
 * grow, a reconnect with Last-Event-ID gets only what is new, a finished stream answers 204), the
 * guardrail pausing a job on the plugin's error rate, and hostile input answered 4xx, changing nothing.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createJob } from '../operations/jobs/jobs.ts';
import { readModuleMigrations } from '../operations/migrations/plan.ts';
import { createTenants } from '../sandbox/data/tenants.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';

const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';
const moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-jobs-module-'));
fs.mkdirSync(path.join(moduleDir, 'plugin'));
fs.mkdirSync(path.join(moduleDir, 'migrations', 'tenant'), { recursive: true });
fs.writeFileSync(path.join(moduleDir, 'plugin', 'index.ts'), `export const permissions: string[] = [];
export default {
  meta: { id: 'flaky', version: '1.0.0', api: '1.x' },
  async register(ctx: any) {
    ctx.router.get('/boom', () => { throw new Error('boom'); });
  },
};
`);
fs.writeFileSync(path.join(moduleDir, 'migrations', 'tenant', '001_init.sql'), 'CREATE TABLE flaky_items (id int);\n');
afterAll(() => fs.rmSync(moduleDir, { recursive: true, force: true }));

interface Event { id: number; data: { status: string; seq: number; counts: { done: number; total: number } } }

/** Reads a Server-Sent Events stream until it ends; each event's id and data. */
async function readEvents(url: string, headers: Record<string, string>): Promise<{ status: number; events: Event[] }> {
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers } });
  if (res.status !== 200) return { status: res.status, events: [] };
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await res.text();
  const events = text.split('\n\n').filter((block) => block.includes('data: ')).map((block) => ({
    id: Number(/^id: (\d+)$/m.exec(block)![1]),
    data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!),
  }));
  return { status: 200, events };
}

describe.each(databaseServers())('jobs over HTTP on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let base: string;
  let close: () => Promise<void>;
  const admin = () => t.as(ADMIN, 'dev');
  const headers = { 'X-Tenant-Id': 'dev', 'X-User-Id': ADMIN };

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [moduleDir], serverUrl: server.url });
    await createTenants({ pool: t.sandbox.database.pool, tenants: Array.from({ length: 8 }, (_, i) => ({ code: `co${i}`, name: `Company ${i}` })) });
    const listening = t.sandbox.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listening.once('listening', resolve));
    base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/api/admin`;
    close = () => new Promise((resolve) => listening.close(() => resolve()));
    // The sandbox takes the new tenants on (migrates, enables): the jobs below start from there.
    const deadline = Date.now() + 20_000;
    while ((await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_tenant_plugins WHERE plugin_id = 'flaky' AND enabled`))[0]!.n < 10 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await close?.();
    await t?.close();
  });

  it('needs the permission of the job\'s kind to preview or start it', async () => {
    await t.grant(USER, 'dev', ['admin.plugins.read']);
    const enable = await t.as(USER, 'dev').post('/api/admin/jobs').send({ kind: 'disable', plugin: 'flaky' }).expect(403);
    expect(enable.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'admin.plugins.toggle' });
    const migrate = await t.as(USER, 'dev').post('/api/admin/jobs/preview').send({ kind: 'migrate', plugin: 'flaky' }).expect(403);
    expect(migrate.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'admin.migrations.run' });
    expect(await t.sql('SELECT count(*)::int AS n FROM sys_admin_jobs')).toEqual([{ n: 0 }]);
  });

  it('previews, starts, and streams the progress until done: counts only rise, ids only grow', async () => {
    const preview = await admin().post('/api/admin/jobs/preview').send({ kind: 'disable', plugin: 'flaky', filter: { search: 'company' }, waves: [25, 100] }).expect(200);
    expect(preview.body).toMatchObject({ tenants: 8, waves: [{ wave: 1, percent: 25, tenants: 2 }, { wave: 2, percent: 100, tenants: 6 }], unchanged: 0 });
    const created = await admin().post('/api/admin/jobs').send({ kind: 'disable', plugin: 'flaky', filter: { search: 'company' }, waves: [25, 100], concurrency: 2 }).expect(201);
    expect(created.headers.location).toBe(`/api/admin/jobs/${created.body.id}`);
    const { events } = await readEvents(`${base}/jobs/${created.body.id}/events`, headers);
    expect(events.at(-1)!.data).toMatchObject({ status: 'done', counts: { done: 8, total: 8 } });
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
      expect(events[i]!.data.counts.done).toBeGreaterThanOrEqual(events[i - 1]!.data.counts.done);
    }
    expect(await t.sql(`SELECT count(*)::int AS n FROM sys_tenant_plugins tp JOIN sys_tenant t ON t.id = tp.tenant_id WHERE tp.plugin_id = 'flaky' AND NOT tp.enabled AND t.code LIKE 'co%'`)).toEqual([{ n: 8 }]);
    await t.as(ADMIN, 'co3').get('/api/plugins/flaky/boom').expect(403);

    // A reconnect gets what it missed, and nothing once it has the last event.
    const last = events.at(-1)!.id;
    const again = await readEvents(`${base}/jobs/${created.body.id}/events`, { ...headers, 'Last-Event-ID': String(events[0]!.id) });
    expect(again.events.map((e) => e.id)).toEqual([last]);
    expect((await readEvents(`${base}/jobs/${created.body.id}/events`, { ...headers, 'Last-Event-ID': String(last) })).status).toBe(204);
    const targets = await admin().get(`/api/admin/jobs/${created.body.id}/targets?state=done&limit=3`).expect(200);
    expect(targets.body.targets.map((x: { tenant: string }) => x.tenant)).toEqual(['co0', 'co1', 'co2']);
    expect(targets.body.next).toBe('co2');
  });

  it('takes up a job another process started (the change channel tells its worker), with no kick from this one', async () => {
    const other = new pg.Pool({ connectionString: t.database.url, max: 2 });
    try {
      const job = await createJob(other, [readModuleMigrations(moduleDir)], { kind: 'enable', pluginId: 'flaky', tenants: ['co6', 'co7'] }, 'someone-else');
      const deadline = Date.now() + 10_000;
      let status = job.status;
      while (status !== 'done' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await admin().get(`/api/admin/jobs/${job.id}`).expect(200)).body.status;
      }
      expect(status).toBe('done');
    } finally {
      await other.end();
    }
  });

  it('pauses itself, saying why, when the plugin\'s error rate over the last minute passes the guardrail', async () => {
    for (let i = 0; i < 6; i++) await admin().get('/api/plugins/flaky/boom').expect(500);
    const created = await admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', tenants: ['co0', 'co1', 'co2'], guardrail: { maxErrorRate: 0.5, minRequests: 5 } }).expect(201);
    const { events } = await readEventsUntil(`${base}/jobs/${created.body.id}/events`, headers, (e) => e.data.status === 'paused');
    const paused = events.at(-1)!.data as unknown as { pauseReason: string; counts: { done: number } };
    // Six 500s, and the requests earlier tests made (a 403 is no error).
    const [, errors, requests] = /^guardrail: plugin flaky answered (\d+) of its (\d+) requests of the last minute with an error \([\d.]+ %\), above the job's 50\.0 %$/.exec(paused.pauseReason) ?? [];
    expect(Number(errors)).toBe(6);
    expect(Number(errors) / Number(requests)).toBeGreaterThan(0.5);
    expect(paused.counts.done).toBe(0);
    const [entry] = (await admin().get('/api/admin/audit?action=job.pause').expect(200)).body.entries;
    expect(entry).toMatchObject({ action: 'job.pause', reason: paused.pauseReason });
    await admin().post(`/api/admin/jobs/${created.body.id}/cancel`).expect(200);
  });

  describe('hostile input changes nothing and gets a 4xx envelope', () => {
    const unknownJob = '00000000-0000-4000-8000-000000000000';
    const cases: [string, () => Promise<{ status: number; body: { error?: { code?: string } } }>, number, string][] = [
      ['an unknown field', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', force: true }), 400, 'INVALID_BODY'],
      ['an unknown kind', () => admin().post('/api/admin/jobs').send({ kind: 'drop', plugin: 'flaky' }), 400, 'INVALID_BODY'],
      ['no plugin', () => admin().post('/api/admin/jobs').send({ kind: 'enable' }), 400, 'INVALID_BODY'],
      ['a plugin this host does not run', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'ghost' }), 400, 'INVALID_JOB'],
      ['waves that go down', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', waves: [50, 10, 100] }), 400, 'INVALID_JOB'],
      ['waves that stop short of 100', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', waves: [10, 50] }), 400, 'INVALID_JOB'],
      ['a wave of 0 %', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', waves: [0, 100] }), 400, 'INVALID_BODY'],
      ['a concurrency of 33', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', concurrency: 33 }), 400, 'INVALID_BODY'],
      ['a guardrail rate of 2', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', guardrail: { maxErrorRate: 2 } }), 400, 'INVALID_BODY'],
      ['a tenant code with SQL', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', tenants: ["co1'); DROP TABLE sys_tenant; --"] }), 400, 'INVALID_BODY'],
      ['an unknown tenant', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', tenants: ['nobody'] }), 400, 'INVALID_JOB'],
      ['a tenant named twice', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', tenants: ['co1', 'co1'] }), 400, 'INVALID_JOB'],
      ['tenants and a filter', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', tenants: ['co1'], filter: { search: 'x' } }), 400, 'INVALID_JOB'],
      ['a filter matching nobody', () => admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', filter: { search: 'zzzz' } }), 400, 'INVALID_JOB'],
      ['a job id that is not a uuid', () => admin().get('/api/admin/jobs/1%20OR%201=1'), 400, 'INVALID_JOB_ID'],
      ['a job that does not exist', () => admin().get(`/api/admin/jobs/${unknownJob}`), 404, 'JOB_NOT_FOUND'],
      ['pausing a job that does not exist', () => admin().post(`/api/admin/jobs/${unknownJob}/pause`), 404, 'JOB_NOT_FOUND'],
      ['a Last-Event-ID that is not a number', () => admin().get(`/api/admin/jobs/${unknownJob}/events`).set('Last-Event-ID', 'abc'), 400, 'INVALID_LAST_EVENT_ID'],
      ['a negative Last-Event-ID', () => admin().get(`/api/admin/jobs/${unknownJob}/events`).set('Last-Event-ID', '-1'), 400, 'INVALID_LAST_EVENT_ID'],
      ['an unknown query parameter on targets', () => admin().get(`/api/admin/jobs/${unknownJob}/targets?order=desc`), 400, 'INVALID_QUERY'],
    ];
    it.each(cases)('%s', async (_what, send, status, code) => {
      const before = await t.sql('SELECT (SELECT count(*) FROM sys_admin_jobs) AS jobs, (SELECT count(*) FROM sys_audit_log) AS audit');
      const { status: got, body } = await send();
      expect(got).toBe(status);
      expect(body.error).toMatchObject({ code, requestId: expect.any(String) });
      expect(await t.sql('SELECT (SELECT count(*) FROM sys_admin_jobs) AS jobs, (SELECT count(*) FROM sys_audit_log) AS audit')).toEqual(before);
    });

    it('a Last-Event-ID ahead of the job, and actions its status does not allow', async () => {
      const created = await admin().post('/api/admin/jobs').send({ kind: 'enable', plugin: 'flaky', tenants: ['co5'] }).expect(201);
      const done = await readEvents(`${base}/jobs/${created.body.id}/events`, headers);
      const last = done.events.at(-1)!.data;
      expect(last.status).toBe('done');
      const ahead = await admin().get(`/api/admin/jobs/${created.body.id}/events`).set('Last-Event-ID', String(last.seq + 5)).expect(400);
      expect(ahead.body.error).toMatchObject({ code: 'INVALID_LAST_EVENT_ID' });
      expect((await admin().post(`/api/admin/jobs/${created.body.id}/pause`).expect(409)).body.error).toMatchObject({ code: 'JOB_STATE' });
      expect((await admin().post(`/api/admin/jobs/${created.body.id}/retry`).expect(409)).body.error.message).toMatch(/No tenant of this job failed/);
      await admin().post(`/api/admin/jobs/${created.body.id}/cancel`).send({ reason: 'a\nb' }).expect(400);
    });
  });
});

/** Reads events until `done` says so (the stream of a paused job stays open). */
async function readEventsUntil(url: string, headers: Record<string, string>, done: (event: Event) => boolean): Promise<{ events: Event[] }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const reader = res.body!.getReader();
  const events: Event[] = [];
  let buffer = '';
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += new TextDecoder().decode(value);
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!block.includes('data: ')) continue;
      const event = { id: Number(/^id: (\d+)$/m.exec(block)![1]), data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) };
      events.push(event);
      if (done(event)) {
        controller.abort();
        return { events };
      }
    }
  }
  controller.abort();
  throw new Error(`the stream ended without the awaited event (got ${events.map((e) => e.data.status).join(', ')})`);
}
