/**
 * What a change another process made does in this sandbox (data/change-listener.ts receives it):
 * tenants, users and permission sets forgotten from their caches, plugin enablement re-read, and
 * tenants created elsewhere taken on: the dev admin's role given there (with dev data), migrated
 * and enabled for this sandbox's plugins, as the bootstrap does at start.
 */
import type pg from 'pg';
import { isUuid } from '../rules/index.ts';
import type { Change } from './data/changes.ts';
import { inTransaction } from './data/database.ts';
import { DEV_USERS, grantDevRoles } from './data/dev-seed.ts';
import type { Tenancy } from './data/tenancy.ts';
import type { AccessCaches } from './access/access-caches.ts';
import type { Logger } from './logger.ts';
import { readMigrations } from '../operations/migrations/files.ts';
import type { ModuleMigrations } from '../operations/migrations/plan.ts';
import { runMigrations } from '../operations/migrations/runner.ts';
import type { LoadedPlugin } from './plugins/loader.ts';
import { recordTenantPlugins } from '../operations/registry/enablement.ts';
import type { EnablementCache } from '../operations/registry/enablement-cache.ts';
import { actAs } from './data/transaction-actor.ts';

/** How long a tenant whose migration waited too long for a lock waits before it is tried again. */
const LOCKED_RETRY_MS = 1_000;

export interface ChangeHandlerOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  enablement: EnablementCache;
  /** The user and permission caches that `access` changes invalidate. @default none (nothing of access is cached) */
  access?: Pick<AccessCaches, 'forget'>;
  plugins: LoadedPlugin[];
  logger: Logger;
  /**
   * Give the dev admin its role in each tenant taken on, as the bootstrap does in every tenant
   * (data/dev-seed.ts): a sandbox with dev data and dev identity. @default false
   */
  grantDevRoles?: boolean;
  /** A job changed somewhere (`jobs`): this process's job worker looks for work. */
  onJobs?: () => void;
}

export interface ChangeHandler {
  /**
   * Learns the tenants that exist now; those with no enablement row for some installed plugin
   * (created while this sandbox started) are taken on at once. `skipped`: tenant codes the
   * bootstrap left alone (no schema), not tried again until a notification names them.
   */
  start(skipped?: readonly string[]): Promise<void>;
  /** Acts on one notification; the work runs in the background, one tenant batch at a time. */
  apply(change: Change): void;
  /** Re-reads every cache and takes on tenants not seen yet, as after missed notifications. */
  resync(): Promise<void>;
  /** Stops taking tenants on (a migration in progress finishes its current target). */
  close(): Promise<void>;
}

export function createChangeHandler({ pool, tenancy, enablement, access, plugins, logger, grantDevRoles: devRoles = false, onJobs }: ChangeHandlerOptions): ChangeHandler {
  const modules: ModuleMigrations[] = plugins.map(({ meta, dir }) => ({
    id: meta.id, version: meta.version, api: meta.api, dir, files: { public: readMigrations(dir, 'public'), tenant: readMigrations(dir, 'tenant') },
  }));
  /** Tenants this sandbox has taken on, or found at start: a notification naming one is only a rename or a drop. */
  const known = new Set<string>();
  /** Known tenants whose migrations failed: a notification naming one tries again. */
  const failed = new Set<string>();
  const named = new Set<string>();
  let everyTenant = false;
  let working: Promise<void> | undefined;
  let closed = false;
  const stop = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  // The runner holds `concurrency` connections and one for its journal: requests keep the rest.
  const concurrency = Math.max(1, Math.min(2, (pool.options.max ?? 10) - 3));

  /** Queues tenants to take on (every tenant not known yet when none are named); one batch runs at a time. */
  function takeOnLater(tenantIds?: readonly string[]): Promise<void> {
    if (tenantIds) for (const id of tenantIds) named.add(id);
    else everyTenant = true;
    working ??= drain();
    return working;
  }

  async function drain(): Promise<void> {
    // Never ends synchronously, so `working` is always set before the `finally` clears it.
    await ready;
    try {
      while (!closed && (everyTenant || named.size > 0)) {
        const ids = [...named];
        const all = everyTenant;
        named.clear();
        everyTenant = false;
        try {
          const retried = ids.filter((id) => failed.has(id));
          const fresh = all ? [...new Set([...(await unknownTenants()), ...retried])] : ids.filter((id) => !known.has(id) || failed.has(id));
          if (fresh.length > 0) await takeOn(fresh);
        } catch (error) {
          if (!closed) logger.error({ err: error, tenantIds: ids }, 'could not take on tenants created by another process; the next change notification tries again');
        }
      }
    } finally {
      working = undefined;
    }
  }

  async function unknownTenants(): Promise<string[]> {
    const { rows } = await pool.query<{ id: string }>('SELECT id::text AS id FROM public.sys_tenant');
    const present = new Set(rows.map((r) => r.id));
    for (const id of known) {
      if (present.has(id)) continue;
      known.delete(id);
      failed.delete(id);
    }
    return rows.map((r) => r.id).filter((id) => !known.has(id));
  }

  /** The sandbox's policy for a tenant it has not seen: its plugins' migrations, then enabled for each; logged as the sandbox's changes. */
  function takeOn(tenantIds: string[]): Promise<void> {
    return actAs({ actor: 'sandbox', source: 'sandbox' }, () => takeOnAsSandbox(tenantIds));
  }

  async function takeOnAsSandbox(tenantIds: string[]): Promise<void> {
    const { rows: tenants } = await pool.query<{ id: string; code: string }>(
      'SELECT id::text AS id, code FROM public.sys_tenant WHERE id = ANY($1::uuid[]) ORDER BY code', [tenantIds]);
    // First, and whatever the migrations do: the dev identities work in every tenant the shell lists.
    if (devRoles && tenants.length > 0 && !closed) await grantDevRolesIn(tenants);
    // A plugin uninstalled by another process stays uninstalled: the runner would record it anew.
    const installed = plugins.filter((p) => enablement.installed(p.meta.id));
    if (tenants.length === 0 || installed.length === 0 || closed) return;
    for (const t of tenants) known.add(t.id);
    const report = await runMigrations({
      pool, modules: modules.filter((m) => enablement.installed(m.id)), tenants: tenants.map((t) => t.code),
      systemSchemaReady: true, retryQuarantined: true, concurrency, signal: stop.signal,
    });
    if (closed || report.notStarted > 0) return;
    const refused = new Map<string, string>();
    const locked = new Set<string>();
    for (const { work, outcome } of report.results) {
      if (outcome.state === 'done') continue;
      refused.set(work.target.tenantCode ?? '*', outcome.error);
      if (outcome.state === 'locked') locked.add(work.target.tenantCode ?? '*');
    }
    for (const work of report.blocked) refused.set(work.target.tenantCode ?? '*', work.blocked!.message);
    // A public migration that failed leaves every tenant without what its tables rely on.
    const ok = refused.has('*') ? [] : tenants.filter((t) => !refused.has(t.code));
    const waiting: string[] = [];
    for (const t of tenants.filter((x) => !ok.includes(x))) {
      failed.add(t.id);
      const reason = refused.get(t.code) ?? refused.get('*');
      if (locked.has(t.code) || locked.has('*')) {
        // Most likely the creator's own migration of the same tenant (`tenants create` runs one): it ends.
        waiting.push(t.id);
        logger.warn({ tenant: t.code, reason }, `tenant ${t.code}, created by another process, is being migrated by someone else; trying again in ${LOCKED_RETRY_MS} ms`);
      } else {
        logger.error({ tenant: t.code, reason }, `tenant ${t.code}, created by another process, could not be migrated: its plugin routes answer 403 PLUGIN_DISABLED until a change notification naming it succeeds (${reason})`);
      }
    }
    if (waiting.length > 0) setTimeout(() => void takeOnLater(waiting), LOCKED_RETRY_MS).unref();
    if (ok.length === 0) return;
    const ids = ok.map((t) => t.id);
    const client = await pool.connect();
    try {
      await inTransaction(client, async () => {
        // Other sandboxes cache these rows too: the registry's triggers tell them.
        await recordTenantPlugins(client, installed, ids);
      });
    } finally {
      client.release();
    }
    for (const id of ids) failed.delete(id);
    await enablement.refresh(installed.map((p) => p.meta.id));
    logger.info({ tenants: ok.map((t) => t.code), plugins: installed.map((p) => p.meta.id) }, `took on ${ok.length} tenant(s) created by another process: migrated and enabled`);
  }

  async function grantDevRolesIn(tenants: { id: string; code: string }[]): Promise<void> {
    const client = await pool.connect();
    try {
      await inTransaction(client, () => grantDevRoles(client, tenants.map((t) => t.id)));
    } finally {
      client.release();
    }
    // The role tables notify too, but this sandbox's next request must not wait for that round trip.
    access?.forget({ tenantIds: tenants.map((t) => t.id) });
    logger.info({ tenants: tenants.map((t) => t.code) }, `gave ${DEV_USERS.admin.email} its role in ${tenants.length} tenant(s) created by another process`);
  }

  return {
    async start(skipped = []) {
      const installed = plugins.map((p) => p.meta.id).filter((id) => enablement.installed(id));
      const { rows } = await pool.query<{ id: string; code: string; recorded: boolean }>(
        `SELECT t.id::text AS id, t.code,
                NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS p(id)
                             WHERE NOT EXISTS (SELECT 1 FROM public.sys_tenant_plugins tp WHERE tp.tenant_id = t.id AND tp.plugin_id = p.id)
                               AND NOT EXISTS (SELECT 1 FROM public.sys_tenant_plugin_uninstalls u WHERE u.tenant_id = t.id AND u.plugin_id = p.id)) AS recorded
           FROM public.sys_tenant t`, [installed]);
      const missed: string[] = [];
      for (const { id, code, recorded } of rows) {
        known.add(id);
        if (skipped.includes(code)) failed.add(id);
        else if (!recorded) missed.push(id);
      }
      markReady();
      // Tenants created between the bootstrap's reading and LISTEN: no notification will name them again.
      if (missed.length > 0) await takeOnLater(missed);
    },
    apply(change) {
      if (closed) return;
      if (change.kind === 'jobs') return void onJobs?.();
      if (change.kind === 'access') {
        const userIds = uuids(change.userIds);
        const tenantIds = uuids(change.tenantIds);
        // A list that is not one of ids is no list: everything is forgotten, never too little.
        const malformed = (change.userIds !== undefined && !userIds) || (change.tenantIds !== undefined && !tenantIds);
        access?.forget(malformed ? undefined : { userIds, tenantIds });
        return;
      }
      if (change.kind === 'tenants') {
        const ids = uuids(change.tenantIds);
        tenancy.invalidate(ids);
        takeOnLater(ids).catch(() => {});
        // A dropped tenant's rows went with it (by foreign key), with no enablement notification.
        enablement.refresh().catch(() => {});
        return;
      }
      // Refresh failures are logged, and retried, by the cache itself.
      enablement.refresh(change.pluginId === undefined ? undefined : [change.pluginId]).catch(() => {});
    },
    async resync() {
      if (closed) return;
      tenancy.invalidate();
      access?.forget();
      await Promise.all([enablement.refresh(), takeOnLater()]);
    },
    async close() {
      closed = true;
      stop.abort();
      markReady();
      await working?.catch(() => {});
    },
  };
}

/** `tenantIds` when it is a list of tenant ids; anything else (missing, malformed) means "any tenant". */
function uuids(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string' && isUuid(id))) return undefined;
  return value.map((id: string) => id.toLowerCase());
}
