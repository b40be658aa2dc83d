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
  /** The contract it is written against: `'1.x'`. */
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

/** Permission checks. Permissions are namespaced by plugin id: `<id>.<resource>.<action>`. */
export interface RbacCapability {
  /**
   * An Express handler that lets the request through only when the caller's roles in its tenant
   * grant `permission`: 401 without identity, 403 `FORBIDDEN` otherwise. A permission the plugin
   * did not declare is refused at registration; one absent from the catalog always denies.
   */
  require(permission: string): RequestHandler;
}

/** Plugin configuration: global values and per-tenant values, both JSON. */
export interface ConfigCapability {
  getGlobal<T = unknown>(key: string): Promise<T | undefined>;
  getTenant<T = unknown>(tenantId: string, key: string): Promise<T | undefined>;
}

/** In-process events between plugins. Handlers run in registration order; a failing handler is logged. */
export interface EventsCapability {
  on(name: string, handler: (payload: unknown) => Promise<void> | void): void;
  emit(name: string, payload: unknown): Promise<void>;
}

/** Scheduled jobs, cron syntax (`*\/5 * * * *`). A bad spec is refused at registration. */
export interface CronCapability {
  register(spec: string, job: (ctx: { tenantId?: string }) => Promise<void> | void): void;
}

/** Structured log line tagged with the plugin id. */
export type LogFn = (msg: string, meta?: Record<string, unknown>) => void;

/** Everything a plugin may use. Capabilities only: no pool, no host internals. */
export interface PluginContext {
  /** Routes declared here are served at `/api/plugins/<id>/…`. */
  router: Router;
  /** The caller of this request; throws 401 `UNAUTHENTICATED` when the request carries no identity. */
  auth(req: Request): RequestIdentity;
  rbac: RbacCapability;
  /** Runs `run` in one transaction on the tenant's schema; commits on success, rolls back on throw. */
  withTenantTx<T>(tenantId: string, run: (db: TenantDb) => Promise<T>): Promise<T>;
  resolveTenant(query: { domain?: string; code?: string }): Promise<TenantInfo | null>;
  config: ConfigCapability;
  events: EventsCapability;
  cron: CronCapability;
  log: LogFn;
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
  /** JSON schema of the module's per-tenant configuration. */
  configSchema?: Record<string, unknown>;
}
