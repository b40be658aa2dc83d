/**
 * Jobs as the services run them, on both servers: waves in order, every tenant changed once, a
 * failed tenant recorded with its error and retried alone, pause that lets the tenants in hand
 * finish and starts nothing new, cancel, and a worker killed (SIGKILL) part-way whose job another
 * worker takes over and finishes with nothing lost or done twice.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startJobWorker, type JobWorker } from '../operations/jobs/job-runner.ts';
import { controlJob, createJob, previewJob, readJob, readJobTargets, type JobView } from '../operations/jobs/jobs.ts';
import { readModuleMigrations, type ModuleMigrations } from '../operations/migrations/plan.ts';
import { databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { eventually } from './helpers/eventually.ts';
import { fixtureModule, migrationDb, type MigrationDb } from './helpers/migration-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** The jobs below take seconds, on a loaded machine more: a long wait before calling it a failure. */
const until = <T>(probe: () => Promise<T | undefined>, what: string) => eventually(probe, what, 30_000);

describe.each(databaseServers())('jobs on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let module: ModuleMigrations;
  const workers: JobWorker[] = [];
  const worker = (options: { leaseMs?: number } = {}) => {
    const started = startJobWorker({ pool: db.pool, modules: [module], ...options });
    workers.push(started);
    return started;
  };
  const finished = (id: string) => until(async () => {
    const job = await readJob(db.pool, id);
    return job && ['done', 'cancelled', 'paused'].includes(job.status) && job.counts.running === 0 ? job : undefined;
  }, `job ${id} to stop`);
  const applied = async () => db.sql<{ tenant: string; n: number }>(
    `SELECT t.code AS tenant, count(m.id)::int AS n FROM sys_tenant t LEFT JOIN sys_plugin_migrations m ON m.tenant_id = t.id AND m.plugin_id = 'slow' GROUP BY t.code ORDER BY t.code`);

  beforeEach(async (context) => {
    const dir = fixtureModule('slow', { 'tenant/001_init.sql': 'SELECT pg_sleep(0.05);\nCREATE TABLE slow_items (id int);\n' });
    dirs.push(dir);
    module = readModuleMigrations(dir);
    db = await migrationDb(server.url, 12);
    context.onTestFinished(async () => {
      await Promise.all(workers.splice(0).map((w) => w.close()));
      await db.close();
    });
  });

  it('previews, then enables wave by wave: every tenant once, each wave finished before the next starts', async () => {
    const request = { kind: 'enable' as const, pluginId: 'slow', waves: [10, 50, 100], concurrency: 3 };
    const preview = await previewJob(db.pool, [module], request);
    expect(preview).toMatchObject({ tenants: 12, waves: [{ wave: 1, percent: 10, tenants: 2 }, { wave: 2, percent: 50, tenants: 4 }, { wave: 3, percent: 100, tenants: 6 }], unchanged: 0 });
    expect(preview.sample.slice(0, 3)).toEqual(['t0001', 't0002', 't0003']);
    expect(await db.sql('SELECT count(*)::int AS n FROM sys_admin_jobs')).toEqual([{ n: 0 }]);

    const job = await createJob(db.pool, [module], request, 'alice');
    expect(job).toMatchObject({ status: 'running', counts: { pending: 12, total: 12 }, currentWave: 1, createdBy: 'alice' });
    worker();
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'done', counts: { done: 12, failed: 0, pending: 0 }, etaSeconds: 0 });
    expect((await applied()).every((row) => row.n === 1)).toBe(true);
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_tenant_plugins WHERE plugin_id = 'slow' AND enabled`)).toEqual([{ n: 12 }]);
    // Waves in order: no tenant of a wave started before the one before had finished.
    const waves = await db.sql<{ wave: number; first: Date; last: Date }>(
      `SELECT wave, min(started_at) AS first, max(finished_at) AS last FROM sys_admin_job_targets WHERE job_id = $1 GROUP BY wave ORDER BY wave`, [job.id]);
    for (let i = 1; i < waves.length; i++) expect(waves[i]!.first.getTime()).toBeGreaterThanOrEqual(waves[i - 1]!.last.getTime());
    // Made as the job's creator, and logged so.
    expect(await db.sql(`SELECT DISTINCT actor, request_id FROM sys_audit_log WHERE action = 'plugin.install' AND tenant_id IS NOT NULL`)).toEqual([{ actor: 'alice', request_id: `job:${job.id}` }]);
  });

  it('records the tenants that fail with their error, and a retry runs those alone', async () => {
    await db.sql('CREATE TABLE tenant_t0004.slow_items (id int); CREATE TABLE tenant_t0009.slow_items (id int)');
    const job = await createJob(db.pool, [module], { kind: 'migrate', pluginId: 'slow' }, 'alice');
    // Told, as a sandbox's worker is by the change channel's "jobs" notice.
    const running = worker();
    const first = await finished(job.id);
    expect(first).toMatchObject({ status: 'done', counts: { done: 10, failed: 2 } });
    const failed = (await readJobTargets(db.pool, job.id, { state: 'failed' })).targets;
    expect(failed.map((t) => t.tenant)).toEqual(['t0004', 't0009']);
    expect(failed[0]!.error).toMatch(/slow_items.*already exists/);

    await db.sql('DROP TABLE tenant_t0004.slow_items; DROP TABLE tenant_t0009.slow_items');
    await controlJob(db.pool, job.id, 'retry');
    running.kick();
    const retried = await finished(job.id);
    expect(retried).toMatchObject({ status: 'done', counts: { done: 12, failed: 0 } });
    const attempts = await db.sql<{ tenant_code: string; attempts: number }>(`SELECT tenant_code, attempts FROM sys_admin_job_targets WHERE job_id = $1 AND attempts > 1 ORDER BY 1`, [job.id]);
    expect(attempts).toEqual([{ tenant_code: 't0004', attempts: 2 }, { tenant_code: 't0009', attempts: 2 }]);
    expect((await applied()).every((row) => row.n === 1)).toBe(true);
    await expect(controlJob(db.pool, job.id, 'retry')).rejects.toThrow(/No tenant of this job failed/);
    expect((await db.sql<{ action: string }>(`SELECT action FROM sys_audit_log WHERE action LIKE 'job.%' ORDER BY id`)).map((r) => r.action)).toEqual(['job.create', 'job.done', 'job.retry', 'job.done']);
  });

  it('pauses: the tenants in hand finish, none starts after; resumed, it finishes; a cancelled job skips what is left', async () => {
    const job = await createJob(db.pool, [module], { kind: 'migrate', pluginId: 'slow', concurrency: 1 }, 'alice');
    const running = worker();
    await until(async () => ((await readJob(db.pool, job.id))!.counts.done >= 2 ? true : undefined), 'two tenants done');
    await controlJob(db.pool, job.id, 'pause', 'looking at the first results');
    const paused = await finished(job.id);
    expect(paused).toMatchObject({ status: 'paused', pauseReason: 'looking at the first results' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const still = (await readJob(db.pool, job.id))!;
    expect(still.counts).toEqual(paused.counts);
    expect(still.counts.pending).toBeGreaterThan(0);
    await expect(controlJob(db.pool, job.id, 'pause')).rejects.toThrow(/A paused job can't be told to pause/);

    await controlJob(db.pool, job.id, 'resume');
    running.kick();
    await until(async () => ((await readJob(db.pool, job.id))!.counts.done >= paused.counts.done + 2 ? true : undefined), 'two more tenants done');
    await controlJob(db.pool, job.id, 'cancel');
    const cancelled = await finished(job.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.counts.skipped).toBeGreaterThan(0);
    expect(cancelled.counts.done + cancelled.counts.skipped).toBe(12);
    const skipped = (await readJobTargets(db.pool, job.id, { state: 'skipped' })).targets.map((t) => t.tenant);
    expect((await applied()).filter((r) => skipped.includes(r.tenant)).every((r) => r.n === 0)).toBe(true);
    expect((await db.sql<{ action: string }>(`SELECT action FROM sys_audit_log WHERE action LIKE 'job.%' ORDER BY id`)).map((r) => r.action)).toEqual(['job.create', 'job.pause', 'job.resume', 'job.cancel']);
  });

  it('a worker killed by SIGKILL part-way: another takes the job over when its lease expires, and every tenant is migrated once', async () => {
    const job = await createJob(db.pool, [module], { kind: 'migrate', pluginId: 'slow', concurrency: 2 }, 'alice');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/fixtures/job-worker.ts'), db.database.url, module.dir], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO_ROOT });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await until(async () => ((await readJob(db.pool, job.id))!.counts.done >= 3 ? true : undefined), 'the child to have done three tenants');
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    const atKill = (await readJob(db.pool, job.id))!;
    expect(atKill.counts.done).toBeLessThan(12);
    expect(await db.sql(`SELECT lease_owner FROM sys_admin_jobs WHERE id = $1`, [job.id])).toEqual([{ lease_owner: 'killed-worker' }]);

    worker();
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'done', counts: { done: 12, failed: 0, running: 0 } });
    expect((await applied()).map((r) => r.n)).toEqual(Array(12).fill(1));
    expect(await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sys_migration_run_targets WHERE state = 'done' AND plugin_id = 'slow'`)).toEqual([{ n: 12 }]);
  });
});
