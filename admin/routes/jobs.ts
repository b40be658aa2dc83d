/**
 * Jobs over HTTP: `POST /jobs/preview` (what a bulk change or migration run would do), `POST
 * /jobs` (start it), `GET /jobs`, `GET /jobs/:id`, `GET /jobs/:id/targets` (per-tenant state and
 * errors), `POST /jobs/:id/{pause,resume,cancel,retry}`, and `GET /jobs/:id/events`: the job's
 * progress as Server-Sent Events, each with the job's `seq` as its id, so that a reconnecting
 * client (Last-Event-ID) gets only what changed since.
 */
import { Ajv } from 'ajv';
import express, { type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import { HttpError } from '../../foundation-lib/http-error.ts';
import type { ModuleMigrations } from '../../operations/migrations/plan.ts';
import { controlJob, createJob, JobInputError, JobStateError, listJobs, previewJob, readJob, readJobTargets, type JobAction, type JobKind, type JobRequest, type JobView } from '../../operations/jobs/jobs.ts';
import { HOST_PERMISSIONS, type HostPermission } from '../../rules/index.ts';
import { currentActor } from '../../sandbox/data/transaction-actor.ts';
import { requirePermission, type AdminAccess } from '../access.ts';
import { readQuery, rules } from '../request-input.ts';

const TEXT = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]*$' };
const checkRequest = new Ajv({ allErrors: false, strict: true }).compile<{ kind: JobKind; plugin: string } & Omit<JobRequest, 'kind' | 'pluginId'>>({
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'plugin'],
  properties: {
    kind: { enum: ['enable', 'disable', 'migrate', 'roles'] },
    plugin: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,49}$' },
    tenants: { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$' } },
    filter: {
      type: 'object', additionalProperties: false,
      properties: { state: { enum: ['enabled', 'disabled', 'not-installed'] }, version: { type: 'string', pattern: '^[0-9A-Za-z.+-]{1,64}$' }, migration: { enum: ['applied', 'pending', 'failed', 'quarantined'] }, search: TEXT },
    },
    waves: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'integer', minimum: 1, maximum: 100 } },
    concurrency: { type: 'integer', minimum: 1, maximum: 32 },
    guardrail: {
      type: 'object', additionalProperties: false, required: ['maxErrorRate'],
      properties: { maxErrorRate: { type: 'number', minimum: 0, maximum: 1 }, minRequests: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
    },
  },
});

const PERMISSION_OF: Record<JobKind, HostPermission> = { enable: HOST_PERMISSIONS.pluginsToggle, disable: HOST_PERMISSIONS.pluginsToggle, migrate: HOST_PERMISSIONS.migrationsRun, roles: HOST_PERMISSIONS.rolesApply };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TERMINAL = ['done', 'cancelled'];

export interface JobRoutesOptions {
  pool: pg.Pool;
  modules: ModuleMigrations[];
  access: AdminAccess;
  /** Tells this process's job worker to look for work now. */
  kick?: () => void;
  /** How often an event stream looks for changes. @default 250 ms */
  eventPollMs?: number;
}

export function jobRoutes({ pool, modules, access, kick = () => {}, eventPollMs = 250 }: JobRoutesOptions): Router {
  const router = express.Router();
  const read = requirePermission(access, HOST_PERMISSIONS.pluginsRead);

  const requestOf = (req: Request): JobRequest => {
    if (!checkRequest(req.body)) {
      const error = checkRequest.errors![0]!;
      const field = `${error.instancePath.slice(1).replace(/\//g, '.')}${error.keyword === 'additionalProperties' ? `${error.instancePath ? '.' : ''}${String(error.params.additionalProperty)}` : ''}${error.keyword === 'required' ? String(error.params.missingProperty) : ''}` || 'body';
      throw new HttpError(400, 'INVALID_BODY', `The job's ${field} ${error.message ?? 'is not valid'}.`, { field });
    }
    const { plugin, ...rest } = req.body as { plugin: string } & Omit<JobRequest, 'pluginId'>;
    return { ...rest, pluginId: plugin };
  };
  /** The caller must hold the permission of the job's kind; checked once the body says which. */
  const mayRun = async (req: Request, kind: JobKind) => {
    if (!(await access.can(req.identity!, PERMISSION_OF[kind]))) {
      throw new HttpError(403, 'FORBIDDEN', `You lack the permission ${PERMISSION_OF[kind]} in tenant ${req.identity!.tenantCode}.`, { permission: PERMISSION_OF[kind] });
    }
  };
  const jobOf = async (id: string): Promise<JobView> => {
    if (!UUID.test(id)) throw new HttpError(400, 'INVALID_JOB_ID', `${JSON.stringify(id.slice(0, 64))} is not a job id (a uuid).`);
    const job = await readJob(pool, id);
    if (!job) throw new HttpError(404, 'JOB_NOT_FOUND', `No job has the id ${id}.`, { jobId: id });
    return job;
  };
  const refusal = (error: unknown) => {
    if (error instanceof JobInputError) return new HttpError(400, 'INVALID_JOB', error.message);
    if (error instanceof JobStateError) return new HttpError(409, 'JOB_STATE', error.message);
    return error;
  };

  router.post('/jobs/preview', read, async (req: Request, res: Response) => {
    const request = requestOf(req);
    await mayRun(req, request.kind);
    res.json(await previewJob(pool, modules, request).catch((error: unknown) => { throw refusal(error); }));
  });

  router.post('/jobs', read, async (req: Request, res: Response) => {
    const request = requestOf(req);
    await mayRun(req, request.kind);
    const job = await createJob(pool, modules, request, currentActor()!.actor).catch((error: unknown) => { throw refusal(error); });
    kick();
    res.status(201).setHeader('Location', `${req.baseUrl}/jobs/${job.id}`).json(job);
  });

  router.get('/jobs', read, async (req: Request, res: Response) => {
    const query = readQuery(req, { limit: rules.integer(1, 200) });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ jobs: await listJobs(pool, { limit: query.limit === undefined ? 50 : Number(query.limit) }) });
  });

  router.get('/jobs/:id', read, async (req: Request<{ id: string }>, res: Response) => {
    readQuery(req, {});
    res.setHeader('Cache-Control', 'no-store');
    res.json(await jobOf(req.params.id));
  });

  router.get('/jobs/:id/targets', read, async (req: Request<{ id: string }>, res: Response) => {
    const query = readQuery(req, { state: rules.oneOf('pending', 'running', 'done', 'failed', 'skipped'), after: rules.tenantCode, limit: rules.integer(1, 500) });
    await jobOf(req.params.id);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await readJobTargets(pool, req.params.id, { state: query.state as never, after: query.after, limit: query.limit === undefined ? 100 : Number(query.limit) }));
  });

  for (const action of ['pause', 'resume', 'cancel', 'retry'] as JobAction[]) {
    router.post(`/jobs/:id/${action}`, read, async (req: Request<{ id: string }>, res: Response) => {
      const job = await jobOf(req.params.id);
      await mayRun(req, job.kind);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some((key) => key !== 'reason') || (body.reason !== undefined && (typeof body.reason !== 'string' || rules.text(500)(body.reason) !== undefined || body.reason.trim() === ''))) {
        throw new HttpError(400, 'INVALID_BODY', 'Send no body, or a JSON object with a reason (a line of text, at most 500 characters).', { field: 'reason' });
      }
      const changed = await controlJob(pool, job.id, action, body.reason as string | undefined).catch((error: unknown) => { throw refusal(error); });
      if (action === 'resume' || action === 'retry') kick();
      res.json(changed);
    });
  }

  router.get('/jobs/:id/events', read, async (req: Request<{ id: string }>, res: Response) => {
    readQuery(req, {});
    const given = req.get('Last-Event-ID');
    if (given !== undefined && !/^\d{1,15}$/.test(given.trim())) {
      throw new HttpError(400, 'INVALID_LAST_EVENT_ID', `Last-Event-ID ${JSON.stringify(given.slice(0, 64))} is not an event id of this stream (a whole number).`);
    }
    let job = await jobOf(req.params.id);
    let last = given === undefined ? -1 : Number(given.trim());
    if (last > job.seq) throw new HttpError(400, 'INVALID_LAST_EVENT_ID', `Last-Event-ID ${last} is ahead of this job's events (the latest is ${job.seq}): it belongs to another stream.`);
    // Nothing more will come: 204 tells an EventSource to stop reconnecting.
    if (last === job.seq && TERMINAL.includes(job.status)) return void res.status(204).end();
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    let closed = false;
    const send = (current: JobView) => {
      res.write(`id: ${current.seq}\nevent: progress\ndata: ${JSON.stringify(current)}\n\n`);
      last = current.seq;
      if (TERMINAL.includes(current.status)) {
        closed = true;
        res.end();
      }
    };
    if (job.seq !== last) send(job);
    let beats = 0;
    const timer = setInterval(() => {
      if (closed) return;
      if (++beats % Math.max(1, Math.round(15_000 / eventPollMs)) === 0) res.write(': still here\n\n');
      readJob(pool, job.id).then((current) => {
        if (!closed && current && current.seq !== last) send((job = current));
      }, () => {}); // a failed read is retried at the next tick
    }, eventPollMs);
    res.on('close', () => {
      closed = true;
      clearInterval(timer);
    });
  });
  return router;
}
