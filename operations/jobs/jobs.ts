/**
 * Jobs: a bulk enable, disable or migration run over many tenants, previewed first, then run in
 * waves (say 1 %, 10 %, the rest: each wave finishes before the next starts) by job-runner.ts,
 * paused, resumed, cancelled, and retried for its failed tenants. Everything is in two tables
 * (job-schema.ts), so any process can read, steer or take over a job.
 */
import type pg from 'pg';
import { inTransaction } from '../../sandbox/data/database.ts';
import { ensureSystemSchemaLocked } from '../../sandbox/data/system-schema.ts';
import type { ModuleMigrations } from '../migrations/plan.ts';
import { tenantConditions, type TenantGridFilter } from '../registry/tenant-grid.ts';

/** `roles`: apply every proposed role-template diff of the plugin in each tenant (role-templates.ts). */
export type JobKind = 'enable' | 'disable' | 'migrate' | 'roles';
export type JobStatus = 'running' | 'paused' | 'cancelled' | 'done';
export type TargetState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
export type JobAction = 'pause' | 'resume' | 'cancel' | 'retry';

export interface Guardrail {
  /** Pause the job when the plugin's share of 5xx answers over the last minute goes above this (0–1). */
  maxErrorRate: number;
  /** …counted once the plugin answered at least this many requests in that minute. @default 20 */
  minRequests?: number;
}

export interface JobRequest {
  kind: JobKind;
  pluginId: string;
  /** The tenants by code; or all those matching `filter` (every tenant when neither is given). */
  tenants?: string[];
  filter?: Omit<TenantGridFilter, 'plugin'> & { plugin?: string };
  /** Cumulative percentages, increasing, the last 100. @default [100] */
  waves?: number[];
  /** Tenants worked on at once. @default 4 */
  concurrency?: number;
  guardrail?: Guardrail;
}

export class JobInputError extends Error {
  override name = 'JobInputError';
}

/** An action the job's status does not allow (resume a job that is done…): 409. */
export class JobStateError extends Error {
  override name = 'JobStateError';
}

export interface JobPreview {
  kind: JobKind;
  pluginId: string;
  tenants: number;
  waves: { wave: number; percent: number; tenants: number }[];
  /** The first tenants it would work on, in order. */
  sample: string[];
  /** Tenants in the plugin's grid state that the job would not change (already enabled, for an enable). */
  unchanged: number;
}

export interface JobView {
  id: string;
  kind: JobKind;
  pluginId: string;
  status: JobStatus;
  pauseReason: string | null;
  waves: number[];
  concurrency: number;
  guardrail: Guardrail | null;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  /** Increases with every change: the event id of its Server-Sent Events. */
  seq: number;
  counts: Record<TargetState, number> & { total: number };
  /** The wave being worked on (the first with work left); null when none is. */
  currentWave: number | null;
  /** Seconds until the last tenant is done at the pace of the last minute; null when unknown. */
  etaSeconds: number | null;
}

const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 32;
const MAX_TENANTS_NAMED = 10_000;

export function checkJobRequest(request: JobRequest, modules: ModuleMigrations[]): ModuleMigrations {
  const module = modules.find((m) => m.id === request.pluginId);
  if (!module) throw new JobInputError(`This host runs no plugin "${request.pluginId}".`);
  const waves = request.waves ?? [100];
  if (waves.length === 0 || waves.length > 10 || waves.some((w, i) => !Number.isInteger(w) || w < 1 || w > 100 || (i > 0 && w <= waves[i - 1]!)) || waves.at(-1) !== 100) {
    throw new JobInputError(`waves ${JSON.stringify(waves)} must be 1 to 10 whole percentages, each larger than the one before, the last 100 (for example [1, 10, 100]).`);
  }
  const concurrency = request.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) throw new JobInputError(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}.`);
  const { guardrail } = request;
  if (guardrail && (!(guardrail.maxErrorRate >= 0 && guardrail.maxErrorRate <= 1) || (guardrail.minRequests !== undefined && !(Number.isInteger(guardrail.minRequests) && guardrail.minRequests >= 1 && guardrail.minRequests <= 1_000_000)))) {
    throw new JobInputError('guardrail.maxErrorRate must be from 0 to 1 (0.05 is 5 %), and guardrail.minRequests a whole number from 1.');
  }
  if (request.tenants && request.filter) throw new JobInputError('Name the tenants or give a filter, not both.');
  if (request.tenants && (request.tenants.length === 0 || request.tenants.length > MAX_TENANTS_NAMED)) throw new JobInputError(`tenants lists 1 to ${MAX_TENANTS_NAMED} codes; for more, use a filter.`);
  if (request.tenants && new Set(request.tenants).size !== request.tenants.length) throw new JobInputError('tenants names a tenant twice.');
  return module;
}

/** The tenants the job works on, in order (by code): ids and codes. */
async function selectTenants(db: pg.Pool | pg.ClientBase, modules: ModuleMigrations[], request: JobRequest): Promise<{ id: string; code: string }[]> {
  if (request.tenants) {
    const { rows } = await db.query<{ id: string; code: string }>('SELECT id::text AS id, code FROM public.sys_tenant WHERE code = ANY($1::text[]) ORDER BY code', [request.tenants]);
    const unknown = request.tenants.filter((code) => !rows.some((t) => t.code === code));
    if (unknown.length > 0) throw new JobInputError(`No tenant has the code ${unknown.slice(0, 10).map((c) => `"${c}"`).join(', ')}${unknown.length > 10 ? ` (and ${unknown.length - 10} more)` : ''}.`);
    return rows;
  }
  const params: unknown[] = [];
  const conditions = tenantConditions(modules, { plugin: request.pluginId, ...request.filter }, (value) => `$${params.push(value)}`);
  const { rows } = await db.query<{ id: string; code: string }>(
    `SELECT t.id::text AS id, t.code FROM public.sys_tenant t ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY t.code`, params);
  return rows;
}

/** Which wave the tenant at `position` (0-based, of `total`) falls in. */
function waveOf(position: number, total: number, waves: number[]): number {
  return waves.findIndex((percent) => position < Math.ceil((total * percent) / 100));
}

/** What the job would do, writing nothing. */
export async function previewJob(pool: pg.Pool, modules: ModuleMigrations[], request: JobRequest): Promise<JobPreview> {
  checkJobRequest(request, modules);
  const tenants = await selectTenants(pool, modules, request);
  const waves = request.waves ?? [100];
  const perWave = waves.map(() => 0);
  tenants.forEach((_, i) => perWave[waveOf(i, tenants.length, waves)]! += 1);
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = ANY($2::uuid[]) AND enabled = $3`,
    [request.pluginId, tenants.map((t) => t.id), request.kind !== 'disable']);
  return {
    kind: request.kind, pluginId: request.pluginId, tenants: tenants.length,
    waves: waves.map((percent, i) => ({ wave: i + 1, percent, tenants: perWave[i]! })),
    sample: tenants.slice(0, 20).map((t) => t.code),
    unchanged: request.kind === 'migrate' || request.kind === 'roles' ? 0 : rows[0]!.n,
  };
}

/** Creates the job, running, with a row per tenant; a runner takes it from there. */
export async function createJob(pool: pg.Pool, modules: ModuleMigrations[], request: JobRequest, createdBy: string): Promise<JobView> {
  checkJobRequest(request, modules);
  await ensureSystemSchemaLocked(pool);
  const waves = request.waves ?? [100];
  const client = await pool.connect();
  try {
    const id = await inTransaction(client, async () => {
      const tenants = await selectTenants(client, modules, request);
      if (tenants.length === 0) throw new JobInputError('No tenant matches: there is nothing for the job to do.');
      const { rows: [job] } = await client.query<{ id: string }>(
        `INSERT INTO public.sys_admin_jobs (kind, plugin_id, status, waves, concurrency, guardrail, created_by)
         VALUES ($1, $2, 'running', $3, $4, $5, $6) RETURNING id::text AS id`,
        [request.kind, request.pluginId, waves, request.concurrency ?? DEFAULT_CONCURRENCY, request.guardrail ? JSON.stringify(request.guardrail) : null, createdBy]);
      await client.query(
        `INSERT INTO public.sys_admin_job_targets (job_id, tenant_id, tenant_code, position, wave, state)
         SELECT $1, t.id, t.code, t.position, t.wave, 'pending' FROM unnest($2::uuid[], $3::text[], $4::int[], $5::int[]) AS t(id, code, position, wave)`,
        [job!.id, tenants.map((t) => t.id), tenants.map((t) => t.code), tenants.map((_, i) => i), tenants.map((_, i) => waveOf(i, tenants.length, waves) + 1)]);
      return job!.id;
    });
    return (await readJob(pool, id))!;
  } finally {
    client.release();
  }
}

const JOB_COLUMNS = `j.id::text AS id, j.kind, j.plugin_id AS "pluginId", j.status, j.pause_reason AS "pauseReason", j.waves, j.concurrency, j.guardrail,
  j.created_by AS "createdBy", to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
  to_char(j.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "finishedAt", j.seq::int AS seq`;

/** The job with its counts, current wave and ETA; undefined when there is none with that id. */
export async function readJob(db: pg.Pool | pg.ClientBase, id: string): Promise<JobView | undefined> {
  const { rows: [job] } = await db.query<Omit<JobView, 'counts' | 'currentWave' | 'etaSeconds'>>(`SELECT ${JOB_COLUMNS} FROM public.sys_admin_jobs j WHERE j.id = $1`, [id]);
  if (!job) return undefined;
  const { rows } = await db.query<{ state: TargetState; n: number; wave: number | null; recent: number }>(
    `SELECT state, count(*)::int AS n, min(wave) FILTER (WHERE state IN ('pending', 'running')) AS wave,
            count(*) FILTER (WHERE finished_at > now() - interval '1 minute')::int AS recent
       FROM public.sys_admin_job_targets WHERE job_id = $1 GROUP BY state`, [id]);
  const counts = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0, total: 0 };
  for (const row of rows) {
    counts[row.state] = row.n;
    counts.total += row.n;
  }
  const waves = rows.map((r) => r.wave).filter((w): w is number => w !== null);
  const perSecond = rows.reduce((sum, r) => sum + r.recent, 0) / 60;
  const left = counts.pending + counts.running;
  return {
    ...job, counts, currentWave: waves.length ? Math.min(...waves) : null,
    etaSeconds: left === 0 ? 0 : job.status === 'running' && perSecond > 0 ? Math.ceil(left / perSecond) : null,
  };
}

/** The latest jobs, newest first. */
export async function listJobs(db: pg.Pool | pg.ClientBase, { limit = 50 }: { limit?: number } = {}): Promise<JobView[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id::text AS id FROM public.sys_admin_jobs ORDER BY created_at DESC, id LIMIT $1`, [limit]);
  return (await Promise.all(rows.map((r) => readJob(db, r.id)))).filter((j): j is JobView => j !== undefined);
}

export interface JobTarget {
  tenant: string;
  wave: number;
  state: TargetState;
  attempts: number;
  error: string | null;
}

/** The job's tenants, in order, optionally of one state (the failed ones with their errors). */
export async function readJobTargets(db: pg.Pool | pg.ClientBase, id: string, { state, after, limit = 100 }: { state?: TargetState; after?: string; limit?: number } = {}): Promise<{ targets: JobTarget[]; next?: string }> {
  const { rows } = await db.query<JobTarget & { position: number }>(
    `SELECT tenant_code AS tenant, wave, state, attempts, error, position FROM public.sys_admin_job_targets
      WHERE job_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR tenant_code > $3) ORDER BY tenant_code LIMIT $4`,
    [id, state ?? null, after ?? null, limit + 1]);
  const targets = rows.slice(0, limit).map(({ position: _position, ...target }) => target);
  return rows.length > limit ? { targets, next: targets.at(-1)!.tenant } : { targets };
}

const ALLOWED: Record<JobAction, JobStatus[]> = { pause: ['running'], resume: ['paused'], cancel: ['running', 'paused'], retry: ['running', 'paused', 'done'] };

/**
 * Pause (the tenants being worked on finish, no new one starts), resume, cancel (what is left is
 * skipped), or retry (the failed tenants go back to pending, and the job runs again).
 */
export async function controlJob(pool: pg.Pool, id: string, action: JobAction, reason?: string): Promise<JobView> {
  const client = await pool.connect();
  try {
    await inTransaction(client, async () => {
      const { rows: [job] } = await client.query<{ status: JobStatus }>('SELECT status FROM public.sys_admin_jobs WHERE id = $1 FOR UPDATE', [id]);
      if (!job) throw new JobInputError(`No job has the id ${id}.`);
      if (!ALLOWED[action].includes(job.status)) throw new JobStateError(`A ${job.status} job can't be told to ${action} (only a ${ALLOWED[action].join(' or ')} one).`);
      if (action === 'retry') {
        const { rowCount } = await client.query(`UPDATE public.sys_admin_job_targets SET state = 'pending', error = NULL, finished_at = NULL WHERE job_id = $1 AND state = 'failed'`, [id]);
        if (!rowCount) throw new JobStateError('No tenant of this job failed: there is nothing to retry.');
      }
      if (action === 'cancel') await client.query(`UPDATE public.sys_admin_job_targets SET state = 'skipped', finished_at = now() WHERE job_id = $1 AND state = 'pending'`, [id]);
      const status: JobStatus = action === 'pause' ? 'paused' : action === 'cancel' ? 'cancelled' : 'running';
      await client.query(
        `UPDATE public.sys_admin_jobs SET status = $2, pause_reason = $3, seq = seq + 1, updated_at = now(), finished_at = CASE WHEN $2 = 'cancelled' THEN now() END,
                retries = retries + $4 WHERE id = $1`, [id, status, action === 'pause' ? (reason ?? 'paused by an operator') : null, action === 'retry' ? 1 : 0]);
    });
    return (await readJob(pool, id))!;
  } finally {
    client.release();
  }
}
