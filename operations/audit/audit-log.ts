/**
 * Reading the audit log (written by triggers, audit-schema.ts): filtered by tenant, plugin, actor,
 * action and time, newest first, a page at a time (a cursor, not an offset, so that a page costs
 * the same at the end of a long log), and exported whole as JSON lines or CSV.
 */
import { stringify } from 'csv-stringify/sync';
import type pg from 'pg';

export interface AuditEntry {
  /** Increasing: a later change has a larger id. */
  id: string;
  at: string;
  actor: string;
  /** `api`, `cli`, `sandbox`, or `sql` for a change made with no actor (psql, a foundation's own code). */
  source: string;
  /** `tenant.create`, `plugin.enable`, `plugin.global.disable`, `plugin.config`, `role.grant`… (docs/admin.md). */
  action: string;
  pluginId: string | null;
  tenantId: string | null;
  tenantCode: string | null;
  /** The fields the change touched, before and after (null: created, or removed). */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
  requestId: string | null;
}

export interface AuditFilter {
  tenant?: string;
  plugin?: string;
  actor?: string;
  action?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; absent on the last one. */
  next?: string;
}

export const MAX_AUDIT_PAGE = 1000;

const COLUMNS = `id::text AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, actor, source, action,
  plugin_id AS "pluginId", tenant_id::text AS "tenantId", tenant_code AS "tenantCode", before, after, reason, request_id AS "requestId"`;

function where(filter: AuditFilter, before: string | undefined): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const conditions: string[] = [];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    conditions.push(condition.replace('?', `$${params.length}`));
  };
  if (filter.tenant !== undefined) add('tenant_code = ?', filter.tenant);
  if (filter.plugin !== undefined) add('plugin_id = ?', filter.plugin);
  if (filter.actor !== undefined) add('actor = ?', filter.actor);
  if (filter.action !== undefined) add('action = ?', filter.action);
  if (filter.from !== undefined) add('at >= ?', filter.from);
  if (filter.to !== undefined) add('at < ?', filter.to);
  if (before !== undefined) add('id < ?::bigint', before);
  return { sql: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

/** One page of entries matching `filter`, newest first, older than the cursor `before`. */
export async function readAuditLog(db: pg.Pool | pg.ClientBase, filter: AuditFilter, { before, limit = 100 }: { before?: string; limit?: number } = {}): Promise<AuditPage> {
  if (before !== undefined && !/^[1-9][0-9]{0,18}$/.test(before)) throw new TypeError(`The cursor ${JSON.stringify(before)} is not one this log gave.`);
  const size = Math.min(Math.max(1, Math.trunc(limit)), MAX_AUDIT_PAGE);
  const { sql, params } = where(filter, before);
  const { rows } = await db.query<AuditEntry>(`SELECT ${COLUMNS} FROM public.sys_audit_log ${sql} ORDER BY id DESC LIMIT ${size + 1}`, params);
  const entries = rows.slice(0, size);
  return rows.length > size ? { entries, next: entries.at(-1)!.id } : { entries };
}

/** Every entry matching `filter`, newest first, a page at a time. */
export async function* auditLogEntries(db: pg.Pool | pg.ClientBase, filter: AuditFilter): AsyncGenerator<AuditEntry[]> {
  let before: string | undefined;
  do {
    const page = await readAuditLog(db, filter, { before, limit: MAX_AUDIT_PAGE });
    if (page.entries.length > 0) yield page.entries;
    before = page.next;
  } while (before !== undefined);
}

export const AUDIT_CSV_COLUMNS = ['id', 'at', 'actor', 'source', 'action', 'pluginId', 'tenantId', 'tenantCode', 'before', 'after', 'reason', 'requestId'] as const;

/** Entries as JSON lines. */
export function auditJsonLines(entries: AuditEntry[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}

/**
 * Entries as CSV rows (RFC 4180; `before` and `after` as JSON). A cell that a spreadsheet would
 * run as a formula (=, +, -, @ first) is prefixed with a quote: actors and reasons are user input.
 */
export function auditCsv(entries: AuditEntry[], { header }: { header: boolean }): string {
  const rows = entries.map((entry) => AUDIT_CSV_COLUMNS.map((column) => {
    const value = entry[column];
    return value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : value;
  }));
  return stringify(header ? [[...AUDIT_CSV_COLUMNS], ...rows] : rows, { escape_formulas: true });
}
