/**
 * Change notifications between processes: whoever changes tenants, plugin enablement or config
 * (the CLI, the admin API, a second sandbox) sends one on PostgreSQL's LISTEN/NOTIFY channel, in
 * the same transaction as the change; every sandbox listens and refreshes its caches. A NOTIFY
 * sent inside a transaction is delivered at its commit, and not at all if it rolls back.
 */
import type pg from 'pg';

/** The one channel every process listens on. */
export const CHANGES_CHANNEL = 'foundation_changes';

export type Change =
  /** A tenant was created, renamed or dropped. */
  | { kind: 'tenants'; tenantIds?: string[] }
  /** A plugin's enablement changed: globally (kill switch) or for some tenants. */
  | { kind: 'enablement'; pluginId: string; tenantIds?: string[] }
  /** A plugin was installed, upgraded or uninstalled. */
  | { kind: 'plugins'; pluginId: string };

export async function notifyChange(db: pg.Pool | pg.ClientBase, change: Change): Promise<void> {
  await db.query('SELECT pg_catalog.pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]);
}

/** A payload as received; undefined when it is not one of ours (anyone may NOTIFY the channel). */
export function parseChange(payload: string | undefined): Change | undefined {
  try {
    const change = JSON.parse(payload ?? '') as Partial<Change>;
    if (change.kind === 'tenants') return change as Change;
    if ((change.kind === 'enablement' || change.kind === 'plugins') && typeof change.pluginId === 'string') return change as Change;
  } catch {
    // not JSON: ignored
  }
  return undefined;
}
