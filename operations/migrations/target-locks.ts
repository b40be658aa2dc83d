/**
 * The runner's advisory locks, taken by polling `pg_try_advisory_*lock` rather than by waiting in
 * `pg_advisory_lock`: a backend that waits inside a statement holds a snapshot, and a concurrent
 * index build in another tenant waits for every older snapshot, so a runner waiting for a lock
 * that the index builder holds would be a deadlock (40P01). Between two polls a waiting runner
 * holds no snapshot and nothing waits for it.
 *
 * Also the index checks of no-transaction files: an interrupted CREATE INDEX CONCURRENTLY leaves
 * an index marked invalid, which `IF NOT EXISTS` would skip for ever.
 */
import type pg from 'pg';
import type { SqlStatement } from './sql-statements.ts';

/** Two texts hashed into the two int4 keys of an advisory lock, e.g. (plugin id, schema). */
export type LockKey = readonly [string, string];

/** Releases every session lock of this connection (before it goes back to its pool). */
export const sessionLockAll = 'SELECT pg_catalog.pg_advisory_unlock_all()';

const FIRST_POLL_MS = 10;
const LONGEST_POLL_MS = 250;

/**
 * Takes the lock, for the transaction or for the session.
 * @returns false when it did not come within `timeoutMs`
 */
export async function tryLock(client: pg.ClientBase, key: LockKey, scope: 'xact' | 'session', timeoutMs: number): Promise<boolean> {
  const take = scope === 'xact' ? 'pg_try_advisory_xact_lock' : 'pg_try_advisory_lock';
  const deadline = performance.now() + timeoutMs;
  for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, LONGEST_POLL_MS)) {
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_catalog.${take}(pg_catalog.hashtext($1), pg_catalog.hashtext($2)) AS locked`, [key[0], key[1]]);
    if (rows[0]?.locked) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
  }
}

/** Names of the invalid indexes in `schema`. */
export async function invalidIndexes(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT i.indisvalid ORDER BY 1`, [schema]);
  return rows.map((row) => row.name);
}

/** The indexes these statements build concurrently by name that an earlier, interrupted build left invalid (`invalid`: the schema's). */
export function rebuildableIndexes(statements: SqlStatement[], invalid: ReadonlySet<string>): string[] {
  return statements.flatMap((statement) => {
    const index = (statement.node as { IndexStmt?: { concurrent?: boolean; idxname?: string } }).IndexStmt;
    return index?.concurrent && index.idxname && invalid.has(index.idxname) ? [index.idxname] : [];
  });
}
