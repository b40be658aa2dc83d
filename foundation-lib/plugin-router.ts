/**
 * Kit-owned (create-foundation-module): `foundation-module vendor` places this file in a
 * foundation's src/lib/foundation-module/ and rewrites it on each vendoring: edit bindings.ts instead.
 *
 * Turns the foundation's own pieces (bindings.ts: its withTenantTx, requirePermission, auth,
 * tenants, logger) into plugin contract 1.x for one module, and adds what the contract promises
 * where a foundation's pieces fall short:
 * - `GET /health` answers 200 without identity, before anything else on the router;
 * - a disabled plugin answers 403 `PLUGIN_DISABLED` on every other route: killed globally, with or
 *   without identity; disabled for the caller's tenant, or for the tenant an anonymous route acts
 *   in (`ctx.withTenantTx` and `ctx.resolveTenant` refuse a tenant where the plugin is off);
 * - a plugin may require only permissions it declares (refused when it registers);
 * - refusals and errors answer the contract's envelope `{ error: { code, message, … } }`,
 *   whatever body the foundation's own middleware writes, and whatever way it fails (a rejected
 *   promise, a throw, `next(error)`): 503 when a connection failed, else 500 with a requestId;
 * - a nested `db.transaction()` or `ctx.withTenantTx()` of the same tenant is a savepoint;
 * - events emitted in a tenant transaction are delivered after its commit, dropped on rollback.
 * It imports express and drizzle-orm (which the foundation and the module already have), never the
 * kit. `ctx.cron` lives in plugin-cron.ts, which vendor places only once a module schedules jobs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { sql, TransactionRollbackError } from 'drizzle-orm';
import type { CronCapability, EventHandler, FoundationPlugin, LogMeta, PluginContext, PluginEvent, PluginLogger, RequestIdentity, TenantDb, TenantInfo } from 'create-foundation-module/contract';
import type pg from 'pg';
import { answerFor, HttpError } from './http-error.ts';

/** What bindings.ts maps from the foundation: one object per foundation, shared by its modules. */
export interface FoundationBindings {
  /** The foundation's tenant transaction: `search_path` on the tenant's schema, Drizzle over its client. */
  withTenantTx<T>(tenantId: string, run: (db: TenantDb) => Promise<T>): Promise<T>;
  /** The foundation's permission middleware; its refusals are re-answered in the contract's envelope. */
  requirePermission(permission: string): RequestHandler;
  /** The caller, from the foundation's own authentication; undefined for an anonymous request. */
  identity(req: Request): RequestIdentity | undefined;
  /** Whether the plugin is switched on, globally and for the tenant (the kill switch included). */
  isEnabled(pluginId: string, tenantId: string): boolean | Promise<boolean>;
  /** Whether the plugin's global switch (the kill switch) is on: what a request without a tenant is judged by. */
  isEnabledGlobally(pluginId: string): boolean | Promise<boolean>;
  /** The tenant of `{ code }` or `{ domain }`, or null. */
  resolveTenant(query: { code: string } | { domain: string }): Promise<TenantInfo | null>;
  /** The ids of the foundation's tenants: cron jobs run in each where the plugin is enabled. */
  listTenants(): Promise<string[]>;
  /**
   * Where cron's run locks connect (a session of their own, so one process of several runs each
   * tick): the pool's settings. Undefined: no lock, for a foundation that runs one process.
   */
  cronLockConnection(): pg.ClientConfig | undefined;
  /** Configuration values as stored (defaults are the module's to declare in its schema). */
  config: {
    getGlobal(pluginId: string, key: string): Promise<unknown>;
    getTenant(pluginId: string, tenantId: string, key: string): Promise<unknown>;
  };
  /** A pino-style logger: `(fields, message)`. */
  logger: Record<'debug' | 'info' | 'warn' | 'error', (fields: Record<string, unknown>, msg: string) => void>;
}

/** A logger for bindings that have none of their own: one JSON line per entry on the console, an error with its stack. */
export const jsonLineLogger: FoundationBindings['logger'] = {
  debug: (fields, msg) => console.debug(JSON.stringify({ level: 'debug', msg, ...fields })),
  info: (fields, msg) => console.log(JSON.stringify({ level: 'info', msg, ...fields })),
  warn: (fields, msg) => console.warn(JSON.stringify({ level: 'warn', msg, ...fields })),
  error: (fields, msg) => console.error(JSON.stringify({ level: 'error', msg, ...fields, err: fields.err instanceof Error ? fields.err.stack : fields.err })),
};

export interface PluginModule {
  default: FoundationPlugin;
  permissions?: string[];
}

interface OpenTransaction {
  tenantId: string;
  db: TenantDb;
  /** Work waiting for the outermost commit (events); a rolled-back savepoint drops its share. */
  afterCommit: (() => Promise<void>)[];
}

const openTransaction = new AsyncLocalStorage<OpenTransaction>();
/** The request being answered: its tenant (events and log lines outside a transaction carry it) and its id. */
const currentRequest = new AsyncLocalStorage<{ tenantId?: string; requestId?: string }>();
/** plugin-cron.ts, as this file uses it. */
interface PluginCron {
  expectMigrations(pluginId: string, migrationsDir: string): void;
  cronCapability(pluginId: string, bindings: FoundationBindings, inScope: (tenantId: string, run: () => Promise<void>) => Promise<void>): CronCapability;
  stopCronJobs(): Promise<void>;
}
// A URL, not an import TypeScript follows: a foundation whose modules schedule no jobs has neither
// the file nor croner, and still type-checks.
const PLUGIN_CRON = new URL('./plugin-cron.ts', import.meta.url).href;
let pluginCron: Promise<PluginCron | undefined> | undefined;

function loadPluginCron(): Promise<PluginCron | undefined> {
  pluginCron ??= existsSync(fileURLToPath(PLUGIN_CRON)) ? (import(PLUGIN_CRON) as Promise<PluginCron>) : Promise.resolve(undefined);
  return pluginCron;
}

/**
 * Stops the cron jobs of every module (and lets their run locks go): call it when the foundation
 * shuts down. Set FOUNDATION_MODULE_CRON=off to register jobs without running them (a one-off script).
 */
export async function stopCronJobs(): Promise<void> {
  await (await pluginCron)?.stopCronJobs();
}

/** A caller's own `X-Request-Id` is kept when it is this tame; otherwise one is made. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Listeners of every module of this foundation: events cross modules, as in the sandbox. */
const listeners = new Map<string, { pluginId: string; handler: EventHandler }[]>();
const EVENT_NAME = /^[a-z][a-z0-9-]{1,39}\.[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/** Builds the module's router: calls `register(ctx)` once, behind the health route, the gate and the envelope. */
export async function createPluginRouter({ default: plugin, permissions = [] }: PluginModule, bindings: FoundationBindings, { migrationsDir }: { migrationsDir?: string } = {}): Promise<Router> {
  const pluginId = plugin.meta.id;
  const cron = await loadPluginCron();
  if (migrationsDir) cron?.expectMigrations(pluginId, migrationsDir);
  checkBindings(bindings);
  const router = express.Router();
  router.get('/health', (_req, res) => {
    res.json({ ok: true, plugin: pluginId, version: plugin.meta.version });
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const requestId = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    currentRequest.run({ tenantId: bindings.identity(req)?.tenantId, requestId }, next);
  });
  router.use(async (req: Request, _res: Response, next: NextFunction) => {
    await refuseWhereDisabled(pluginId, bindings.identity(req)?.tenantId ?? null, bindings);
    next();
  });
  const routes = express.Router();
  router.use(routes);
  router.use((req: Request) => {
    throw new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${req.baseUrl}${req.path}.`);
  });
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = answerFor(error);
    const tenantId = bindings.identity(req)?.tenantId;
    const requestId = String(res.getHeader('X-Request-Id') ?? '') || undefined;
    if (answer.status >= 500) bindings.logger.error({ err: error, pluginId, tenantId, requestId, code: answer.code }, 'request failed');
    if (res.headersSent) return void res.end();
    if (answer.retryAfter) res.setHeader('Retry-After', String(answer.retryAfter));
    res.status(answer.status).json({ error: { ...answer.details, code: answer.code, message: answer.message, ...(requestId ? { requestId } : {}) } });
  });
  await plugin.register(contextFor(pluginId, permissions, routes, bindings, cron));
  return router;
}

function contextFor(pluginId: string, declared: string[], router: Router, bindings: FoundationBindings, cron: PluginCron | undefined): PluginContext {
  const log = pluginLogger(pluginId, bindings);
  return {
    router,
    auth(req) {
      const who = bindings.identity(req);
      if (!who) throw new HttpError(401, 'UNAUTHENTICATED', 'This route needs a signed-in user in a tenant.');
      return who;
    },
    rbac: {
      require(permission) {
        if (!declared.includes(permission)) {
          throw new Error(`Plugin "${pluginId}" requires permission ${JSON.stringify(permission)}, which it does not declare in its exported permissions.`);
        }
        return inEnvelope(bindings.requirePermission(permission), permission, bindings);
      },
    },
    async withTenantTx(tenantId, run) {
      // A nested call of the same tenant was judged with its outer one (another tenant is refused there).
      if (!openTransaction.getStore()) await refuseWhereDisabled(pluginId, tenantId, bindings);
      return withTenantTx(bindings, tenantId, run);
    },
    async resolveTenant(query) {
      const given = query && typeof query === 'object' ? (['code', 'domain'] as const).filter((key) => query[key] !== undefined) : [];
      if (given.length !== 1) throw new HttpError(400, 'INVALID_TENANT_QUERY', 'A tenant is looked up by { code } or by { domain }, exactly one of them.');
      const tenant = await bindings.resolveTenant(given[0] === 'code' ? { code: String(query.code) } : { domain: String(query.domain).toLowerCase() });
      // A route without identity (a webhook) acts in the tenant it looks up: the switch of that tenant applies.
      if (tenant) await refuseWhereDisabled(pluginId, tenant.id, bindings);
      return tenant;
    },
    config: {
      getGlobal: async <T>(key: string) => (await bindings.config.getGlobal(pluginId, key)) as T | undefined,
      getTenant: async <T>(tenantId: string, key: string) => (await bindings.config.getTenant(pluginId, tenantId, key)) as T | undefined,
    },
    events: {
      on(name, handler) {
        if (typeof name !== 'string' || !EVENT_NAME.test(name)) throw new TypeError(`Plugin "${pluginId}" listens to ${JSON.stringify(name)}, which is not "<plugin id>.<event>".`);
        listeners.set(name, [...(listeners.get(name) ?? []), { pluginId, handler: handler as EventHandler }]);
      },
      emit(name, payload) {
        if (typeof name !== 'string' || !EVENT_NAME.test(name) || !name.startsWith(`${pluginId}.`)) {
          throw new TypeError(`Plugin "${pluginId}" emits ${JSON.stringify(name)}: a plugin emits only "${pluginId}.<event>".`);
        }
        const open = openTransaction.getStore();
        const event: PluginEvent = { name, payload, tenantId: open?.tenantId ?? currentRequest.getStore()?.tenantId ?? null, emittedBy: pluginId };
        if (open) {
          open.afterCommit.push(() => deliver(event, bindings));
          return Promise.resolve();
        }
        return deliver(event, bindings);
      },
    },
    cron: cron?.cronCapability(pluginId, bindings, (tenantId, run) => currentRequest.run({ tenantId }, run)) ?? {
      register() {
        throw new Error(`Plugin "${pluginId}" schedules a cron job, but this foundation has no cron support (src/lib/foundation-module/plugin-cron.ts and the croner package). ` +
          'Vendor places them when it finds `ctx.cron.register(` (or `cron.register(`) in a module\'s plugin code: call it that way, vendor the module again, then npm install.');
      },
    },
    log,
    httpError: (status, code, message, details) => new HttpError(status, code, message, details),
  };
}

/**
 * Refuses with 403 `PLUGIN_DISABLED` when the plugin is off where it would act: globally (the kill
 * switch) whatever the tenant, and for `tenantId` when one is known. One lookup on the way through
 * (the tenant's answer includes the global switch); the second only words a refusal.
 */
async function refuseWhereDisabled(pluginId: string, tenantId: string | null, bindings: FoundationBindings): Promise<void> {
  const enabled = tenantId === null ? await bindings.isEnabledGlobally(pluginId) : await bindings.isEnabled(pluginId, tenantId);
  if (enabled) return;
  const globally = tenantId === null || !(await bindings.isEnabledGlobally(pluginId));
  throw new HttpError(403, 'PLUGIN_DISABLED', `Plugin ${pluginId} is disabled ${globally ? 'globally' : 'for this tenant'}.`, { pluginId, tenantId });
}

/** A bindings file written before a guarantee needed its entry: refused at start, naming the entry, rather than the guarantee silently missing. */
function checkBindings(bindings: FoundationBindings): void {
  const missing = (['withTenantTx', 'requirePermission', 'identity', 'isEnabled', 'isEnabledGlobally', 'resolveTenant'] as const)
    .filter((name) => typeof bindings?.[name] !== 'function');
  if (missing.length) {
    throw new TypeError(`src/lib/foundation-module/bindings.ts gives no ${missing.join(', ')}: each must be a function. ` +
      'The kit\'s registries provide isEnabled and isEnabledGlobally (...kitRegistries(pool, tenantTable)); docs/vendoring.md describes each entry.');
  }
}

/**
 * The foundation's permission middleware, with its refusal re-answered in the envelope: a body it
 * writes with a 4xx status becomes `UNAUTHENTICATED` (401) or `FORBIDDEN` (403) naming the permission.
 * However it fails (a rejected promise, as an async middleware whose database is down; a throw;
 * `next(error)`), the failure reaches the envelope's handler: a dropped promise would leave the
 * request unanswered and end the process on an unhandled rejection.
 */
function inEnvelope(middleware: RequestHandler, permission: string, bindings: FoundationBindings): RequestHandler {
  return (req, res, next) => {
    if (!bindings.identity(req)) return next(new HttpError(401, 'UNAUTHENTICATED', 'This route needs a signed-in user in a tenant.'));
    const { json, send, end } = res;
    const restore = () => Object.assign(res, { json, send, end });
    let handedOn = false;
    // Once only: a middleware that answers or calls next() and then fails has the failure logged, not answered twice.
    const handOn = (error?: unknown) => {
      restore();
      if (handedOn) {
        if (error !== undefined) bindings.logger.error({ err: error, permission, requestId: currentRequest.getStore()?.requestId }, 'permission middleware failed after it had let the request through');
        return;
      }
      handedOn = true;
      next(error);
    };
    const failed = (error: unknown) => handOn(error ?? new Error(`The permission middleware for ${permission} failed without a reason.`));
    const refuse = () => {
      restore();
      const status = res.statusCode === 401 ? 401 : 403;
      res.statusCode = 200; // the envelope's handler sets the status
      handOn(status === 401 ? new HttpError(401, 'UNAUTHENTICATED', 'This route needs a signed-in user in a tenant.')
        : new HttpError(403, 'FORBIDDEN', `You don't have permission ${permission}.`, { permission }));
      return res;
    };
    const intercept = (original: (...args: never[]) => Response) => function (this: Response, ...args: never[]) {
      return res.statusCode >= 400 ? refuse() : (restore(), original.apply(res, args));
    };
    Object.assign(res, { json: intercept(json), send: intercept(send), end: intercept(end) });
    try {
      const returned: unknown = middleware(req, res, handOn);
      if (isThenable(returned)) returned.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

async function withTenantTx<T>(bindings: FoundationBindings, tenantId: string, run: (db: TenantDb) => Promise<T>): Promise<T> {
  const outer = openTransaction.getStore();
  if (outer) {
    if (outer.tenantId !== tenantId) {
      throw new Error(`withTenantTx("${tenantId}") was called inside a transaction of tenant "${outer.tenantId}": finish the first before starting the other.`);
    }
    const inner: OpenTransaction = { ...outer, afterCommit: [] };
    const result = await openTransaction.run(inner, () => outer.db.transaction((tx) => run(tx as unknown as TenantDb)));
    outer.afterCommit.push(...inner.afterCommit);
    return result;
  }
  const open: OpenTransaction = { tenantId, db: undefined as unknown as TenantDb, afterCommit: [] };
  const result = await bindings.withTenantTx(tenantId, (db) => {
    open.db = savepointing(db, 0);
    return openTransaction.run(open, () => run(open.db));
  });
  for (const work of open.afterCommit) await work();
  return result;
}

/**
 * The foundation's Drizzle handle with `transaction()` as a savepoint: a foundation's handle is
 * often a plain database over a client already in a transaction, where Drizzle would send a
 * second BEGIN (a warning) and its COMMIT would end the outer transaction early.
 */
function savepointing(db: TenantDb, depth: number): TenantDb {
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'rollback') return () => { throw new TransactionRollbackError(); };
      if (property !== 'transaction') return Reflect.get(target, property, receiver);
      return async <R>(run: (tx: TenantDb) => Promise<R>) => {
        const name = sql.raw(`foundation_module_savepoint_${depth + 1}`);
        await target.execute(sql`SAVEPOINT ${name}`);
        try {
          const result = await run(savepointing(target, depth + 1));
          await target.execute(sql`RELEASE SAVEPOINT ${name}`);
          return result;
        } catch (error) {
          await target.execute(sql`ROLLBACK TO SAVEPOINT ${name}`);
          throw error;
        }
      };
    },
  });
}

async function deliver(event: PluginEvent, bindings: FoundationBindings): Promise<void> {
  for (const { pluginId, handler } of [...(listeners.get(event.name) ?? [])]) {
    try {
      await handler(event.payload, event);
    } catch (error) {
      bindings.logger.error({ err: error, event: event.name, pluginId, emittedBy: event.emittedBy, tenantId: event.tenantId }, `handler of event ${event.name} failed`);
    }
  }
}

function pluginLogger(pluginId: string, bindings: FoundationBindings): PluginLogger {
  const write = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, meta?: LogMeta) => {
    const request = currentRequest.getStore();
    const tenantId = openTransaction.getStore()?.tenantId ?? request?.tenantId;
    bindings.logger[level]({ ...(meta instanceof Error ? { err: meta } : meta), pluginId, ...(tenantId ? { tenantId } : {}), ...(request ? { requestId: request.requestId } : {}) }, String(msg));
  };
  return Object.assign(write('info'), { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') });
}
