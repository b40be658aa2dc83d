/**
 * What the request gate asks instead of the database: `sys_plugins.enabled_global` and every
 * enabled `sys_tenant_plugins` row of the loaded plugins, held in memory. It is read whole at
 * start (one query), per plugin when a change notification names one, whole again when
 * notifications may have been missed (data/change-listener.ts). Plugins switched off by the
 * operator of this process (`FOUNDATION_DISABLED_PLUGINS`) are off whatever the database says.
 */
import type pg from 'pg';
import type { Logger } from '../../sandbox/logger.ts';
import type { Enablement } from './enablement.ts';

/** After a failed read, the next try: a notification is not re-sent, so the cache must not wait for the next one. */
const RETRY_MS = 1_000;

export interface EnablementAnswer extends Enablement {
  /** Set when the plugin is off because this process's environment says so, not the database. */
  disabledBy?: 'environment';
}

export interface EnablementCache {
  /** Whether `pluginId` is on, globally and for `tenantId` (null: no tenant named). Sends no query. */
  check(pluginId: string, tenantId: string | null): EnablementAnswer;
  /** Whether `pluginId` has its `sys_plugins` row (installed), as last read. */
  installed(pluginId: string): boolean;
  /**
   * Re-reads the named plugins (every loaded one when none are named). Reads asked for while one
   * runs are merged into the next, so a burst of notifications costs two queries, not one each.
   * Resolves once a read that started after the call has ended; rejects if it failed (a retry
   * is already scheduled).
   */
  refresh(pluginIds?: readonly string[]): Promise<void>;
  /** Stops retrying; later refreshes do nothing. */
  close(): void;
}

export interface EnablementCacheOptions {
  pool: pg.Pool;
  /** The loaded plugins: only these are read and answered for. */
  pluginIds: readonly string[];
  /** Off globally in this process whatever the database says (FOUNDATION_DISABLED_PLUGINS). @default none */
  disabledPlugins?: readonly string[];
  logger: Logger;
}

interface PluginState {
  global: boolean;
  /** Tenants with an enabled row; a tenant without one is off (as the per-request query had it). */
  tenants: ReadonlySet<string>;
}

/** Builds the cache, empty: every plugin answers "off" until the first `refresh()` has ended. */
export function createEnablementCache({ pool, pluginIds, disabledPlugins = [], logger }: EnablementCacheOptions): EnablementCache {
  const loaded = new Set(pluginIds);
  const disabled = new Set(disabledPlugins);
  /** Installed loaded plugins; one missing here has no `sys_plugins` row (uninstalled) and is off. */
  const state = new Map<string, PluginState>();
  const pending = new Set<string>();
  let running: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  async function read(ids: string[]): Promise<void> {
    const { rows } = await pool.query<{ plugin_id: string; enabled_global: boolean; tenants: string[] }>(
      `SELECT p.plugin_id, p.enabled_global,
              coalesce((SELECT array_agg(tp.tenant_id::text) FROM public.sys_tenant_plugins tp
                         WHERE tp.plugin_id = p.plugin_id AND tp.enabled), '{}') AS tenants
         FROM public.sys_plugins p WHERE p.plugin_id = ANY($1::text[])`, [ids]);
    if (closed) return;
    // Each plugin's entry is swapped whole: a request never sees half of a read.
    for (const id of ids) state.delete(id);
    for (const row of rows) state.set(row.plugin_id, { global: row.enabled_global, tenants: new Set(row.tenants) });
  }

  async function drain(): Promise<void> {
    try {
      while (pending.size > 0 && !closed) {
        const ids = [...pending];
        pending.clear();
        try {
          await read(ids);
        } catch (error) {
          for (const id of ids) pending.add(id);
          scheduleRetry(error as Error);
          throw error;
        }
      }
    } finally {
      running = undefined;
    }
  }

  function scheduleRetry(error: Error): void {
    if (closed || retry) return;
    logger.warn({ err: error }, `could not read plugin enablement; trying again in ${RETRY_MS} ms (requests are answered from what was read last)`);
    retry = setTimeout(() => {
      retry = undefined;
      refresh([]).catch(() => {}); // a failure schedules the next retry itself
    }, RETRY_MS);
    retry.unref();
  }

  function refresh(ids: readonly string[] = pluginIds): Promise<void> {
    if (closed) return Promise.resolve();
    for (const id of ids) if (loaded.has(id)) pending.add(id);
    // drain() is only started with work to do: with none, it would end before `running` is set.
    if (!running && pending.size > 0) running = drain();
    return running ?? Promise.resolve();
  }

  return {
    check(pluginId, tenantId) {
      if (disabled.has(pluginId)) return { global: false, tenant: tenantId === null ? null : false, disabledBy: 'environment' };
      const plugin = state.get(pluginId);
      if (!plugin?.global) return { global: false, tenant: tenantId === null ? null : plugin?.tenants.has(tenantId) === true };
      return { global: true, tenant: tenantId === null ? null : plugin.tenants.has(tenantId) };
    },
    installed: (pluginId) => state.has(pluginId),
    refresh,
    close() {
      closed = true;
      clearTimeout(retry);
    },
  };
}
