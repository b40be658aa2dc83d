/**
 * Issue 15, defect 3: the pool must never wedge. Capabilities called inside a tenant transaction
 * reuse its connection; a request that finds no free connection is answered 503 in bounded time;
 * sessions have a statement timeout and an idle-in-transaction timeout.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { probeModule } from './helpers/probe-module.ts';

const ADMIN = 'admin@sandbox.dev';
const PROBE = '/api/plugins/items/probe';

/** Rejects when `promise` takes longer than `ms`: a wedged pool shows up as this, not as a hung run. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms))),
  ]);
}

describe.each(databaseServers())('pool limits on $name PostgreSQL', (server) => {
  let dir: string;
  let t: TestSandbox;
  beforeAll(async () => {
    dir = probeModule();
    t = await startTestSandbox({
      moduleDirs: [dir], serverUrl: server.url,
      maxConnections: 2, acquireTimeoutMs: 400, statementTimeoutMs: 1_000, idleInTransactionTimeoutMs: 500,
    });
    await t.sql(`UPDATE sys_tenant_plugins SET config = '{"colour": "teal"}' WHERE plugin_id = 'items'`);
    await t.sql(`UPDATE sys_plugins SET config = '{"banner": "hello"}' WHERE plugin_id = 'items'`);
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers every request that reads config inside its transaction, with more such requests than pool slots', async () => {
    const requests = Array.from({ length: 8 }, () => t.as(ADMIN, 'dev').get(`${PROBE}/config-in-tx`));
    const answers = await within(15_000, Promise.all(requests.map((r) => r.then((res) => res))), '8 concurrent config-in-transaction requests');
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ colour: 'teal', global: 'hello', tenant: 'acme', nestedSchema: 'tenant_dev' });
    }
    // And the pool is free afterwards: an unrelated route answers.
    await within(5_000, t.as(ADMIN, 'acme').get('/api/plugins/items/items').expect(200).then(() => undefined), 'the items list');
  });

  it("refuses a transaction of another tenant opened inside one tenant's transaction", async () => {
    const res = await t.as(ADMIN, 'dev').get(`${PROBE}/other-tenant-in-tx?other=acme`).expect(500);
    expect(res.body.error.code).toBe('INTERNAL');
    await t.as(ADMIN, 'dev').get(`${PROBE}/other-tenant-in-tx?other=dev`).expect(200);
  });

  it('answers 503 DATABASE_BUSY with Retry-After when no connection comes free within the acquire timeout, then recovers', async () => {
    const holders = [1, 2].map(() => t.as(ADMIN, 'dev').get(`${PROBE}/hold?seconds=0.9`).then((res) => res));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const busy = await within(5_000, t.as(ADMIN, 'dev').get('/api/plugins/items/items').then((res) => res), 'a request with the pool full');
    expect(busy.status).toBe(503);
    expect(busy.body.error).toMatchObject({ code: 'DATABASE_BUSY', requestId: expect.any(String) });
    expect(busy.headers['retry-after']).toBe('1');
    for (const holder of await Promise.all(holders)) expect(holder.status).toBe(200);
    await t.as(ADMIN, 'dev').get('/api/plugins/items/items').expect(200);
  });

  it('cancels a statement past the statement timeout with 503 DATABASE_TIMEOUT', async () => {
    const res = await within(10_000, t.as(ADMIN, 'dev').get(`${PROBE}/hold?seconds=5`).then((r) => r), 'a 5 s statement');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('DATABASE_TIMEOUT');
    await t.as(ADMIN, 'dev').get('/api/plugins/items/items').expect(200);
  });

  it('ends a transaction left idle past the idle-in-transaction timeout, without crashing, and frees its slot', async () => {
    const res = await within(10_000, t.as(ADMIN, 'dev').get(`${PROBE}/idle?ms=1500`).then((r) => r), 'an idle transaction');
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.body.error.requestId).toEqual(expect.any(String));
    // The process is alive and both pool slots work.
    const after = await Promise.all([1, 2, 3].map(() => t.as(ADMIN, 'dev').get('/api/plugins/items/items').then((r) => r.status)));
    expect(after).toEqual([200, 200, 200]);
    const idle = await t.sql(`SELECT pid FROM pg_stat_activity WHERE application_name = 'foundation-sandbox' AND state = 'idle in transaction' AND datname = current_database()`);
    expect(idle).toEqual([]);
  });

  it('gives every session of the sandbox its timeouts', async () => {
    const { rows } = await t.sandbox.database.pool.query<{ statement: string; idle: string }>(
      `SELECT current_setting('statement_timeout') AS statement, current_setting('idle_in_transaction_session_timeout') AS idle`);
    expect(rows[0]).toEqual({ statement: '1s', idle: '500ms' });
  });
});
