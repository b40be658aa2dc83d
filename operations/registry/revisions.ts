/**
 * Versioned writes: a change made from what an operator read (the admin API's `If-Match`) carries
 * the revision it read, and is refused when the row has changed since, naming who changed it and
 * when. Revisions are kept by a trigger on every write, whoever makes it (audit-schema.ts).
 */
import type pg from 'pg';

export interface RowRevision {
  /** 0: no row yet (a plugin never installed for that tenant). */
  revision: number;
  updatedBy: string | null;
  updatedAt: string | null;
}

export class StaleWriteError extends Error {
  override name = 'StaleWriteError';

  constructor(readonly expected: number, readonly current: RowRevision, what: string) {
    super(`${what} changed since it was read (revision ${expected}, now ${current.revision}${current.updatedBy ? `, by ${current.updatedBy}` : ''}${current.updatedAt ? ` at ${current.updatedAt}` : ''}). Read it again, then decide.`);
  }
}

/** The revision of the plugin's global row (`tenantId` null) or of its row for a tenant. */
export async function readRevision(db: pg.Pool | pg.ClientBase, pluginId: string, tenantId: string | null, { lock = false } = {}): Promise<RowRevision> {
  const columns = `revision::int AS revision, updated_by AS "updatedBy", to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "updatedAt"`;
  const forUpdate = lock ? ' FOR UPDATE' : '';
  const { rows } = tenantId === null
    ? await db.query<RowRevision>(`SELECT ${columns} FROM public.sys_plugins WHERE plugin_id = $1${forUpdate}`, [pluginId])
    : await db.query<RowRevision>(`SELECT ${columns} FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2${forUpdate}`, [pluginId, tenantId]);
  return rows[0] ?? { revision: 0, updatedBy: null, updatedAt: null };
}

/** Throws StaleWriteError unless the row is still at `expected`; the row stays locked. */
export async function expectRevision(client: pg.ClientBase, pluginId: string, tenant: { id: string; code: string } | null, expected: number): Promise<void> {
  // Locked: the write that follows in this transaction is the one the check allowed.
  const current = await readRevision(client, pluginId, tenant?.id ?? null, { lock: true });
  if (current.revision !== expected) throw new StaleWriteError(expected, current, tenant ? `Plugin ${pluginId} in tenant ${tenant.code}` : `Plugin ${pluginId} (global)`);
}
