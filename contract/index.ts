/**
 * The plugin contract, version 1.x, as types only: the shape of a plugin and of the context a
 * host hands it. Module code imports it as `import type { … } from 'create-foundation-module/contract'`.
 *
 * This file has no runtime code and imports nothing at run time (test/contract-entry.test.ts
 * checks it), so a foundation can type-check a vendored module against it without the kit's
 * runtime or a database client. The sandbox implements it for development (sandbox/contract.ts);
 * a foundation implements the same interfaces from its own services. See docs/contract.md.
 */
import type { Request, RequestHandler, Router } from 'express';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';

/** Identity card of a plugin. */
export interface PluginMeta {
  /** Lowercase kebab-case, 2–40 characters, starts with a letter. Routes mount at `/api/plugins/<id>`. */
  id: string;
  /** The plugin's own version, semver (`1.0.0`). */
  version: string;
  /**
   * The contract it is written against: `'1.x'` (any 1.x host), or `'1.<minor>'` when it uses what
   * that minor added (`'1.1'`): a host of an older minor refuses it at load, naming both versions.
   */
  api: string;
}

/** What `plugin/index.ts` exports by default. */
export interface FoundationPlugin {
  meta: PluginMeta;
  /** Called once at start-up; declares routes on `ctx.router` and subscribes to events. */
  register(ctx: PluginContext): void | Promise<void>;
}

/** A Drizzle database bound to one tenant's transaction (`search_path` = the tenant schema, public). */
export type TenantDb = NodePgDatabase<Record<string, never>>;

/** Who is calling: resolved by the host from its own authentication, never by plugin code. */
export interface RequestIdentity {
  /** `sys_tenant.id` (uuid) of the tenant the request acts in. */
  tenantId: string;
  /** The user's id (uuid). */
  userId: string;
}

export interface TenantInfo {
  id: string;
  code: string;
  name: string;
  domain: string | null;
  /** The PostgreSQL schema holding this tenant's tables. */
  schema: string;
}

/**
 * How `resolveTenant` names a tenant: exactly one of its code or its domain (compared in lowercase).
 * Both or neither is refused when called (kept loose here so that 1.0 callers still compile).
 */
export interface TenantQuery {
  code?: string;
  domain?: string;
}

/** Permission checks. Permissions are namespaced by plugin id: `<id>.<resource>.<action>`. */
export interface RbacCapability {
  /**
   * An Express handler that lets the request through only when the caller's roles in its tenant
   * grant `permission`: 401 without identity, 403 `FORBIDDEN` otherwise. A permission the plugin
   * did not declare is refused at registration; one absent from the catalog always denies.
   */
  require(permission: string): RequestHandler;
}

/**
 * Plugin configuration: global values (`globalConfigSchema`) and per-tenant values
 * (`configSchema`), both JSON, checked against the module's schema when written. A key that is not
 * set reads as its schema `default`, else `undefined`.
 */
export interface ConfigCapability {
  getGlobal<T = unknown>(key: string): Promise<T | undefined>;
  getTenant<T = unknown>(tenantId: string, key: string): Promise<T | undefined>;
}

/** What a handler learns of an event besides its payload. */
export interface PluginEvent<T = unknown> {
  /** `<emitting plugin id>.<event>`, e.g. `orders.placed`. */
  name: string;
  payload: T;
  /** The tenant the emitter acted in: its tenant transaction's, else its request's; null outside both. */
  tenantId: string | null;
  /** Id of the plugin that emitted it. */
  emittedBy: string;
}

export type EventHandler<T = unknown> = (payload: T, event: PluginEvent<T>) => Promise<void> | void;

/**
 * In-process events between plugins. A plugin emits only `<its id>.<event>` and may listen to any
 * plugin's. Handlers run in registration order; a failing handler is logged. Emitted inside a
 * tenant transaction, an event is delivered after its commit, and dropped on rollback.
 */
export interface EventsCapability {
  on<T = unknown>(name: string, handler: EventHandler<T>): void;
  emit(name: string, payload?: unknown): Promise<void>;
}

/** One run of a cron job: it runs once per tick in each tenant where the plugin is enabled. */
export interface CronRun {
  /** `sys_tenant.id` of the tenant this run is for. */
  tenantId: string;
  /** The tick this run belongs to (the same in every tenant of the tick): a key for idempotent work. */
  scheduledAt: Date;
}

export type CronJob = (run: CronRun) => Promise<void> | void;

/**
 * Scheduled jobs, cron syntax (`*\/5 * * * *`, or six fields with seconds). A bad spec is refused
 * at registration. A job never overlaps itself, and each tick runs on one process only.
 */
export interface CronCapability {
  register(spec: string, job: CronJob): void;
}

/** Structured fields of a log line. */
export type LogMeta = Record<string, unknown>;

/** Writes one structured log line at one level. */
export type LogFn = (msg: string, meta?: LogMeta) => void;

/**
 * Structured logs tagged with the plugin id, and with `tenantId` and `requestId` when written during
 * a request or a tenant transaction. Called directly, it logs at level `info`.
 */
export interface PluginLogger extends LogFn {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Everything a plugin may use. Capabilities only: no pool, no host internals. */
export interface PluginContext {
  /** Routes declared here are served at `/api/plugins/<id>/…`. */
  router: Router;
  /** The caller of this request; throws 401 `UNAUTHENTICATED` when the request carries no identity. */
  auth(req: Request): RequestIdentity;
  rbac: RbacCapability;
  /** Runs `run` in one transaction on the tenant's schema; commits on success, rolls back on throw. */
  withTenantTx<T>(tenantId: string, run: (db: TenantDb) => Promise<T>): Promise<T>;
  /** The tenant of `{ code }` or `{ domain }` (exactly one of them), or null when none matches. */
  resolveTenant(query: TenantQuery): Promise<TenantInfo | null>;
  config: ConfigCapability;
  events: EventsCapability;
  cron: CronCapability;
  log: PluginLogger;
  /**
   * An error to `throw` from a handler; the host answers `status` with
   * `{ error: { code, message, requestId, ...details } }`.
   */
  httpError(status: number, code: string, message: string, details?: Record<string, unknown>): Error;
}

/** A role a module suggests; a tenant admin applies it explicitly, never automatically. */
export interface RoleTemplateDefinition {
  /** Upper-case key, unique in the module, e.g. `INVENTORY_VIEWER`. */
  key: string;
  displayName: string;
  /** Each one of the module's own permissions. */
  permissions: string[];
}

/** A menu entry as the host shows it (the client manifest's `menu` entries have this shape). */
export interface NavEntry {
  label: string;
  /** Route path relative to the module's base `/app/<id>/`. */
  to: string;
  section?: string;
  permission?: string;
}

/** Default export of a module's `module.config.ts`: what the host knows of a module besides its code. */
export interface ModuleConfig extends PluginMeta {
  /** Display name. */
  name: string;
  description?: string;
  /** The same list `plugin/index.ts` exports as `permissions`. */
  permissions: string[];
  roleTemplates?: RoleTemplateDefinition[];
  nav?: NavEntry[];
  /**
   * JSON schema (draft-07, an object schema) of the module's per-tenant configuration
   * (`ctx.config.getTenant`): writes are checked against it, and its property defaults are read
   * for keys not set. Without it, tenant configuration can't be written.
   */
  configSchema?: Record<string, unknown>;
  /** The same for the module's global configuration (`ctx.config.getGlobal`). */
  globalConfigSchema?: Record<string, unknown>;
}
