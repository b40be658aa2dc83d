/**
 * Issue 25, item 6: two runs of a cron job in one tenant never overlap in time, across processes,
 * even when the session holding the job's advisory lock is terminated while a run goes on (the
 * lock went with the session, and another process used to start the job there at its next tick).
 * Two sandboxes, each with its own pool, share a database; a 3 s job writes when each run starts
 * and ends. Also the claims underneath (run-leases.ts), one process against another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createSandbox, type Sandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createRunLocks, jobLockKey } from '../foundation-lib/run-locks.ts';
import { createThrowawayDatabase, databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, removeCapabilityModules } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SLOW = `
const plugin: FoundationPlugin = {
  meta: { id: 'slowjob', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.cron.register('* * * * * *', async ({ tenantId }) => {
      if (tenantId !== (await ctx.resolveTenant({ code: 'dev' }))!.id) return;
      const started = await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`INSERT INTO slow_runs (started) VALUES (clock_timestamp()) RETURNING id\`));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`UPDATE slow_runs SET ended = clock_timestamp() WHERE id = \${started.rows[0]!.id}\`));
    });
  },
};
export default plugin;
`;

/** Ends the cron session that holds the job's advisory lock, as an operator's pg_terminate_backend would. */
const TERMINATE_LOCK_HOLDER = `
SELECT pg_terminate_backend(a.pid) AS terminated FROM pg_stat_activity a
 WHERE a.application_name = 'foundation-sandbox-cron' AND a.datname = current_database()
   AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.objid = $1::int4::oid AND l.objsubid = 2)`;

describe.each(databaseServers())('cron runs never overlap across processes on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let second: Sandbox | undefined;
  beforeAll(async () => {
    const slow = capabilityModule('slowjob', {
      plugin: SLOW,
      migrations: { 'tenant/001_init.sql': 'CREATE TABLE slow_runs (id serial PRIMARY KEY, started timestamptz NOT NULL, ended timestamptz);\n' },
    });
    t = await startTestSandbox({ moduleDirs: [slow], serverUrl: server.url, runCron: true });
    second = await createSandbox({ moduleDirs: [slow], databaseUrl: t.database.url, runCron: true, logger: createLogger({ level: 'silent' }), maxConnections: 5 });
  }, 30_000);
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  it('does not start a job in a tenant while its run goes on in another process whose lock session was terminated', async () => {
    const runs = () => t.sql<{ started: Date; ended: Date | null }>('SELECT started, ended FROM tenant_dev.slow_runs ORDER BY started');
    await waitFor(async () => (await runs()).length === 1, 'the first run to start');
    const killed = await t.sql<{ terminated: boolean }>(TERMINATE_LOCK_HOLDER, [jobLockKey('slowjob', 0, '* * * * * *')]);
    expect(killed).toEqual([{ terminated: true }]);
    const [{ at: killedAt }] = (await t.sql<{ at: Date }>('SELECT clock_timestamp() AS at')) as [{ at: Date }];
    // The first run ends 3 s after it began; the job goes on on the next tick, in one process or the other.
    await waitFor(async () => (await runs()).filter((run) => run.started > killedAt).length >= 1, 'a run after the termination', 8_000);
    await Promise.all([second!.cron.stop(), t.sandbox.cron.stop()]); // lets the runs under way end
    const all = await runs();
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < all.length; i++) {
      const [before, after] = [all[i - 1]!, all[i]!];
      expect(before.ended, `run ${i} ended`).not.toBeNull();
      expect(after.started.getTime(), `run ${i + 1} began before run ${i} ended: ${JSON.stringify(all)}`).toBeGreaterThanOrEqual(before.ended!.getTime());
    }
  }, 30_000);
});

describe.each(databaseServers())('run claims on $name PostgreSQL', (server) => {
  it('keep a job\'s tenant claimed while the run goes on, whatever becomes of the session; a tick runs once in a tenant', async () => {
    const database = await createThrowawayDatabase(server.url);
    const silent = createLogger({ level: 'silent' });
    // A short lease, renewed every 200 ms: the claim outlives several leases only because it is renewed.
    const a = createRunLocks({ connection: { connectionString: database.url }, leaseMs: 600 }, silent);
    const b = createRunLocks({ connection: { connectionString: database.url }, leaseMs: 600 }, silent);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const job = { pluginId: 'ticker', job: '0 * * * * * *' };
    const tick = (second: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, second));
    try {
      const run = await a.claim(job, 'tenant-1', tick(1));
      expect(run).toBeDefined();
      expect(await b.claim(job, 'tenant-1', tick(2))).toBeUndefined(); // under way in a
      expect(await b.claim(job, 'tenant-2', tick(2))).toBeDefined(); // another tenant is free
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'foundation-sandbox-cron' AND datname = current_database() AND pid <> pg_backend_pid()`);
      await sleep(1_500); // more than two leases: a renews its claim on a new session
      expect(run!.lost).toBe(false);
      expect(await b.claim(job, 'tenant-1', tick(3))).toBeUndefined();
      await run!.release();
      const next = await b.claim(job, 'tenant-1', tick(3));
      expect(next).toBeDefined();
      await next!.release();
      expect(await a.claim(job, 'tenant-1', tick(3))).toBeUndefined(); // that tick ran there already
      expect(await a.claim(job, 'tenant-1', tick(2))).toBeUndefined(); // and an older one never runs after it
      const [row] = (await admin.query(`SELECT run_id, holder, ended_at IS NOT NULL AS ended FROM sys_cron_runs WHERE tenant_id = 'tenant-1'`)).rows;
      expect(row).toMatchObject({ run_id: null, ended: true, holder: expect.stringContaining(`pid ${process.pid}`) });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await admin.end();
      await database.drop();
    }
  });
});

describe.each(databaseServers())('the claims\' table on $name PostgreSQL', (server) => {
  it('is looked up before it is created: a user who may not create it gets a warning saying what to do, and runs once the owner created it', async () => {
    const database = await createThrowawayDatabase(server.url);
    const role = `fm_cron_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'cron-test'`);
    // PostgreSQL 15 and later give PUBLIC no CREATE on public; said anyway for older servers.
    await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    const asRole = new URL(database.url);
    [asRole.username, asRole.password] = [role, 'cron-test'];
    const warnings: string[] = [];
    const logger = { warn: (fields: Record<string, unknown>) => warnings.push(String((fields.err as Error).message)), error: () => {} };
    const app = createRunLocks({ connection: { connectionString: asRole.toString() } }, logger);
    const owner = createRunLocks({ connection: { connectionString: database.url } }, createLogger({ level: 'silent' }));
    const job = { pluginId: 'ticker', job: '0 * * * * * *' };
    try {
      expect(await app.claim(job, 'tenant-1', new Date(1_000))).toBeUndefined();
      expect(warnings).toEqual([expect.stringMatching(/^cron could not create public\.sys_cron_runs, where each run claims its tenant \(permission denied for schema public\): create it as the database owner/)]);
      // What docs/operations.md says to do: the owner creates it (a first claim does), and grants the application's user.
      await (await owner.claim(job, 'tenant-0', new Date(1_000)))!.release();
      await admin.query(`GRANT SELECT, INSERT, UPDATE ON public.sys_cron_runs TO ${role}`);
      const run = await app.claim(job, 'tenant-1', new Date(2_000));
      expect(run).toBeDefined();
      await run!.release();
    } finally {
      await Promise.all([app.close(), owner.close()]);
      await admin.end();
      await database.drop();
      const cleanup = new pg.Client({ connectionString: server.url });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE IF EXISTS ${role}`).finally(() => cleanup.end());
    }
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Waited ${timeoutMs} ms for ${what}`);
    await sleep(100);
  }
}
