/**
 * Issue 25 (5): a listener whose connection goes silent without a close (its backend frozen, a
 * network that dropped it) used to be trusted for hours: revoked permissions and the kill switch
 * went unnoticed, with no log line. Its heartbeat now notices within interval + timeout, and the
 * silence is handled as a lost connection: the caches are read again, a warning is logged, and a
 * new session listens while the silent one is destroyed.
 *
 * The listener's backend is frozen with SIGSTOP: the PostgreSQL servers of the tests run on this
 * machine, and the tests run as a user allowed to signal them (root, or the server's own user).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerHeartbeatFromEnv } from '../sandbox/env-settings.ts';
import { createLogger } from '../sandbox/logger.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { listenerPids, otherProcess, within, WITHIN_ONE_SECOND, type OtherProcess } from './helpers/listener-fixtures.ts';

const ITEMS = '/api/plugins/items/items';
const ADMIN = 'admin@sandbox.dev';
const SET_GLOBAL = `UPDATE sys_plugins SET enabled_global = $1 WHERE plugin_id = 'items'`;
/** The goal: a revocation is honoured within 5 s even while the listener is frozen. */
const WITHIN_FIVE_SECONDS = 5_000;

describe('SANDBOX_LISTENER_HEARTBEAT_MS and SANDBOX_LISTENER_HEARTBEAT_TIMEOUT_MS', () => {
  it('default to a heartbeat every second with two seconds to answer, and take whole milliseconds', () => {
    expect(listenerHeartbeatFromEnv({})).toEqual({ intervalMs: 1_000, timeoutMs: 2_000 });
    expect(listenerHeartbeatFromEnv({ SANDBOX_LISTENER_HEARTBEAT_MS: ' 250 ', SANDBOX_LISTENER_HEARTBEAT_TIMEOUT_MS: '750' })).toEqual({ intervalMs: 250, timeoutMs: 750 });
    expect(listenerHeartbeatFromEnv({ SANDBOX_LISTENER_HEARTBEAT_MS: '' })).toEqual({ intervalMs: 1_000, timeoutMs: 2_000 });
  });

  const refused = ['0', '-1', '1.5', '2s', 'abc', '1e3', '99999999999999999999'].flatMap((value) =>
    ['SANDBOX_LISTENER_HEARTBEAT_MS', 'SANDBOX_LISTENER_HEARTBEAT_TIMEOUT_MS'].map((name) => [name, value] as const));
  it.each(refused)('refuses %s=%j, naming the variable and what it takes', (name, value) => {
    expect(() => listenerHeartbeatFromEnv({ [name]: value })).toThrow(new RegExp(`^${name} must be a whole number of at least 1 \\(got "${value.replace(/[.+]/g, '\\$&')}"\\)`));
  });
});

describe.each(databaseServers())('a change listener whose backend is frozen, on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let other: OtherProcess;
  let acmeId: string;
  const logged: { level: number; msg: string }[] = [];
  const warnings = () => logged.filter((line) => line.level === 40).map((line) => line.msg);
  const answers = (code: number, tenant: string) => async () => {
    const seen = (await t.as(ADMIN, tenant).get(ITEMS)).status;
    return { ok: seen === code, seen };
  };

  /** SIGSTOPs the listener's backend; `resume` (call it in a finally) SIGCONTs it. */
  async function freezeListener(): Promise<{ pid: number; resume: () => void }> {
    const pids = await listenerPids(other);
    expect(pids).toHaveLength(1);
    const pid = pids[0]!;
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    return { pid, resume: () => void (resumed || (resumed = true, process.kill(pid, 'SIGCONT'))) };
  }

  /** After SIGCONT the frozen backend finds its socket closed and ends: one session is left, not that one. */
  const onlyANewSession = (frozen: number) => within(WITHIN_FIVE_SECONDS, 'only a new listener session left', async () => {
    const pids = await listenerPids(other);
    return { ok: pids.length === 1 && pids[0] !== frozen, seen: pids };
  });

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    t = await startTestSandbox({ moduleDirs: [ITEMS_MODULE], serverUrl: server.url, logger: createLogger({ level: 'info', destination: sink }) });
    other = await otherProcess(t.database.url);
    acmeId = (await t.sandbox.tenancy.get('acme')).id;
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  it('refuses a permission revoked meanwhile within 5 s, warns, and listens again on a new session', async () => {
    // Warm: the user and the permission set are cached, and the warm path sends no query.
    await t.as(ADMIN, 'acme').get(ITEMS).expect(200);
    await t.as(ADMIN, 'acme').get(ITEMS).expect(200);
    logged.splice(0);
    const { pid, resume } = await freezeListener();
    let revoked: { role_id: string; permission: string }[] = [];
    try {
      revoked = await other.query<{ role_id: string; permission: string }>(
        `DELETE FROM sys_role_permission rp USING sys_role r
          WHERE rp.role_id = r.id AND r.tenant_id = $1 AND rp.permission = 'items.items.read'
         RETURNING rp.role_id::text AS role_id, rp.permission`, [acmeId]);
      const committed = performance.now();
      expect(revoked.length).toBeGreaterThan(0);
      await within(WITHIN_FIVE_SECONDS, 'acme refuses the revoked permission', answers(403, 'acme'), committed);
      const refusal = await t.as(ADMIN, 'acme').get(ITEMS).expect(403);
      expect(refusal.body.error).toMatchObject({ code: 'FORBIDDEN', permission: 'items.items.read' });
      expect(warnings()).toContainEqual(expect.stringMatching(/^change listener: lost its connection \(its connection answered no heartbeat within 2000 ms\); reconnecting/));
      await within(WITHIN_FIVE_SECONDS, 'a new listener session beside the frozen one', async () => {
        const pids = await listenerPids(other);
        return { ok: pids.some((p) => p !== pid), seen: pids };
      });
    } finally {
      resume();
      await other.query(
        `INSERT INTO sys_role_permission (role_id, permission) SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING`,
        [revoked.map((r) => r.role_id), revoked.map((r) => r.permission)]);
    }
    await onlyANewSession(pid);
    // The grant put back reaches the sandbox through the new session.
    await within(WITHIN_ONE_SECOND, 'acme answers 200 again', answers(200, 'acme'));
  });

  it('honours the kill switch pulled meanwhile within 5 s', async () => {
    await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
    const { pid, resume } = await freezeListener();
    try {
      await other.query(SET_GLOBAL, [false]);
      await within(WITHIN_FIVE_SECONDS, 'dev answers 403 after the kill switch', answers(403, 'dev'), performance.now());
      expect((await t.as(ADMIN, 'dev').get(ITEMS).expect(403)).body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items' });
    } finally {
      resume();
      await other.query(SET_GLOBAL, [true]);
    }
    await onlyANewSession(pid);
    await within(WITHIN_ONE_SECOND, 'dev answers 200 once the switch is back', answers(200, 'dev'));
  });
});
