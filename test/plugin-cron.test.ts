/**
 * Issue 17: `ctx.cron`. Each tick runs the job once per tenant where the plugin is enabled, with
 * `{ tenantId, scheduledAt }`; two sandboxes on one database run each tick once between them
 * (the run lock, foundation-lib/run-locks.ts), a disabled tenant never; a job never overlaps
 * itself; a failing job is logged with plugin and tenant and the others run. Hostile specs table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createCronScheduler } from '../foundation-lib/cron-scheduler.ts';
import { createRunLocks, jobLockKey } from '../foundation-lib/run-locks.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, capturedLogger, removeCapabilityModules } from './helpers/capability-modules.ts';
import { createThrowawayDatabase } from '../testing/databases.ts';
import pg from 'pg';

afterAll(removeCapabilityModules);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TICKER = `
const plugin: FoundationPlugin = {
  meta: { id: 'ticker', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.cron.register('* * * * * *', async ({ tenantId, scheduledAt }) => {
      await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`INSERT INTO ticker_runs (tick, tenant_id) VALUES (\${scheduledAt.toISOString()}, \${tenantId})\`));
    });
  },
};
export default plugin;
`;

const FLAKY = `
const plugin: FoundationPlugin = {
  meta: { id: 'flaky', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.cron.register('0 3 * * *', async ({ tenantId }) => {
      const tenant = await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`SELECT current_schema() AS schema\`));
      if (tenant.rows[0]!.schema === 'tenant_acme') throw new Error('acme is broken');
      ctx.log.info('nightly done');
      await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`INSERT INTO flaky_runs (tenant_id) VALUES (\${tenantId})\`));
    });
    // Slow in dev: a per-second schedule must never start it while it runs.
    ctx.cron.register('* * * * * *', async ({ tenantId }) => {
      if (tenantId !== (await ctx.resolveTenant({ code: 'dev' }))!.id) return;
      const started = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`INSERT INTO flaky_slow (started, ended) VALUES (\${started}, now())\`));
    });
  },
};
export default plugin;
`;

describe.each(databaseServers())('ctx.cron on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let second: Sandbox | undefined;
  const ticker = capabilityModule('ticker', { plugin: TICKER, migrations: { 'tenant/001_init.sql': 'CREATE TABLE ticker_runs (tick timestamptz NOT NULL, tenant_id uuid NOT NULL);\n' } });
  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [ticker], serverUrl: server.url, runCron: true });
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  it('runs each tick once per enabled tenant across two sandboxes on one database, and never in a disabled tenant', async () => {
    second = await createSandbox({ moduleDirs: [ticker], databaseUrl: t.database.url, runCron: true, logger: createLogger({ level: 'silent' }), maxConnections: 5 });
    const acme = (await t.sandbox.tenancy.get('acme')).id;
    await t.sql(`UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'ticker' AND tenant_id = $1`, [acme]);
    await Promise.all([t.sandbox.refresh(), second.refresh()]); // the trigger's notice would do it within a second
    const [{ since }] = (await t.sql<{ since: Date }>(`SELECT date_trunc('second', now()) + interval '1 second' AS since`)) as [{ since: Date }];
    await sleep(3_300);
    // Both processes keep a session for the run locks; one of them holds this job's.
    const sessions = await t.sql<{ holds: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.objsubid = 2) AS holds
         FROM pg_stat_activity a WHERE a.application_name = 'foundation-sandbox-cron' AND a.datname = current_database()`);
    expect(sessions.map((s) => s.holds).sort()).toEqual([false, true]);

    const dev = await t.sql<{ tick: Date; runs: number }>(`SELECT tick, count(*)::int AS runs FROM tenant_dev.ticker_runs WHERE tick > $1 GROUP BY tick ORDER BY tick`, [since]);
    expect(dev.length).toBeGreaterThanOrEqual(2);
    expect(dev.every((row) => row.runs === 1), JSON.stringify(dev)).toBe(true);
    // scheduledAt is the tick's due time, a whole second here, not the moment the timer fired.
    expect(dev.every((row) => row.tick.getTime() % 1_000 === 0)).toBe(true);
    expect(await t.sql(`SELECT tick FROM tenant_acme.ticker_runs WHERE tick > $1`, [since])).toEqual([]);

    // One process gone, with its session and any lock it held: the other runs every tick alone.
    await second.close();
    second = undefined;
    const [{ after }] = (await t.sql<{ after: Date }>(`SELECT date_trunc('second', now()) + interval '2 second' AS after`)) as [{ after: Date }];
    await sleep(3_000);
    const alone = await t.sql<{ runs: number }>(`SELECT count(*)::int AS runs FROM tenant_dev.ticker_runs WHERE tick > $1 GROUP BY tick`, [after]);
    expect(alone.length).toBeGreaterThanOrEqual(1);
    expect(alone.every((row) => row.runs === 1)).toBe(true);
  });

  it('hands a job over when the holder\'s connection is lost, and not before', async () => {
    const database = await createThrowawayDatabase(server.url);
    const silent = createLogger({ level: 'silent' });
    const a = createRunLocks({ connection: { connectionString: database.url } }, silent);
    const b = createRunLocks({ connection: { connectionString: database.url } }, silent);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const key = jobLockKey('ticker', 0, '* * * * * *');
      expect(await a.holds(key)).toBe(true);
      expect(await b.holds(key)).toBe(false);
      expect(await a.holds(key)).toBe(true); // asked again: held, not taken twice
      expect(await b.holds(jobLockKey('ticker', 1, '* * * * * *'))).toBe(true); // another job, another lock
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'foundation-sandbox-cron' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int4::oid)`, [key]);
      await sleep(100);
      expect(await b.holds(key)).toBe(true);
      expect(await a.holds(key)).toBe(false); // reconnected, and the lock is b's now
    } finally {
      await Promise.all([a.close(), b.close()]);
      await admin.end();
      await database.drop();
    }
  });
});

describe.each(databaseServers())('cron jobs failing and overrunning on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  const log = capturedLogger();
  beforeAll(async () => {
    const flaky = capabilityModule('flaky', {
      plugin: FLAKY,
      migrations: { 'tenant/001_init.sql': 'CREATE TABLE flaky_runs (tenant_id uuid NOT NULL);\nCREATE TABLE flaky_slow (started timestamptz NOT NULL, ended timestamptz NOT NULL);\n' },
    });
    t = await startTestSandbox({ moduleDirs: [flaky], serverUrl: server.url, logger: log.logger });
  });
  afterAll(() => t?.close());

  it('logs a failing run with plugin and tenant, and runs the other tenants; nothing runs with the kill switch pulled', async () => {
    const dev = (await t.sandbox.tenancy.get('dev')).id;
    const acme = (await t.sandbox.tenancy.get('acme')).id;
    await t.sandbox.cron.runAll();
    expect(await t.sql(`SELECT tenant_id::text FROM tenant_dev.flaky_runs`)).toEqual([{ tenant_id: dev }]);
    const failure = log.lines().find((line) => line.msg === 'cron job failed');
    expect(failure).toMatchObject({ level: 50, pluginId: 'flaky', tenantId: acme, cron: '0 3 * * *', err: { message: 'acme is broken' } });
    // The job's own log line knows its tenant without being told.
    expect(log.lines().find((line) => line.msg === 'nightly done')).toMatchObject({ pluginId: 'flaky', tenantId: dev });

    await t.sql(`UPDATE sys_plugins SET enabled_global = false WHERE plugin_id = 'flaky'`);
    await t.sandbox.refresh();
    try {
      await t.sandbox.cron.runAll();
      expect(await t.sql(`SELECT count(*)::int AS n FROM tenant_dev.flaky_runs`)).toEqual([{ n: 1 }]);
    } finally {
      await t.sql(`UPDATE sys_plugins SET enabled_global = true WHERE plugin_id = 'flaky'`);
      await t.sandbox.refresh();
    }
  });

  it('never starts a job while its previous run is under way', async () => {
    const since = new Date();
    t.sandbox.cron.start();
    await sleep(4_500);
    await t.sandbox.cron.stop();
    const runs = await t.sql<{ started: Date; ended: Date }>(`SELECT started, ended FROM tenant_dev.flaky_slow WHERE started >= $1 ORDER BY started`, [since]);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(3); // 1.3 s runs on a 1 s schedule: every other tick is skipped
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.started.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.ended.getTime() - 5);
  });
});

describe('cron specs (hostile values table)', () => {
  const cron = createCronScheduler(createLogger({ level: 'silent' })).forPlugin('ticker');

  it.each(['* * * * *', '*/5 * * * *', '0 3 * * 1-5', '*/10 * * * * *', '0 0 1 1 *', '@hourly', '@daily', ' 0 3 * * * '])('accepts %j', (spec) => {
    expect(() => cron.register(spec, () => {})).not.toThrow();
  });

  it.each([
    '', ' ', 'x', 'every minute', '* * * *', '* * * * * * * *', '61 * * * *', '* 25 * * *', '* * 32 * *', '* * * 13 *', '*/0 * * * *',
    '2030-01-01T00:00:00', '2030-01-01', '@nope', '* * * * *\0', '* * * * *; rm -rf /', 'a'.repeat(500), `${'1,'.repeat(300)}1 * * * *`,
  ])('refuses the spec %j, naming it', (spec) => {
    expect(() => cron.register(spec, () => {})).toThrow(/Plugin "ticker" registered cron spec .*, which is invalid: /);
  });

  it.each([42, null, undefined, {}, ['* * * * *'], new Date(), () => '* * * * *'])('refuses the non-string spec %s', (spec) => {
    expect(() => cron.register(spec as string, () => {})).toThrow(/which is invalid: a spec is a string/);
  });

  it('refuses a job that is not a function, and running without the host\'s tenancy', async () => {
    expect(() => cron.register('* * * * *', 'run' as never)).toThrow(/with a job that is not a function/);
    await expect(createCronScheduler(createLogger({ level: 'silent' })).runAll()).resolves.toBeUndefined(); // no job: nothing to ask
    const lonely = createCronScheduler(createLogger({ level: 'silent' }));
    lonely.forPlugin('ticker').register('* * * * *', () => {});
    await expect(lonely.runAll()).rejects.toThrow(/made without tenancy and enablement/);
  });
});
