/**
 * What the runner will send of a migration file, and what it refuses to send, decided from the
 * parse tree before anything runs (`migrate validate`, `--dry-run` and every run use this):
 *
 * - A transactional file runs inside the runner's transaction, which holds the tenant's
 *   `search_path` and lock. Transaction control of its own would end that transaction and let the
 *   rest run in `public`, so it is refused, except one `BEGIN; … COMMIT;` around the whole file,
 *   which is the runner's own transaction written out: it is dropped.
 * - Statements PostgreSQL refuses inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`…)
 *   need the `-- migrate:no-transaction` first line.
 * - psql meta-commands (`\set`, `\i`) and `COPY … FROM stdin` need psql: the runner is no psql.
 * - A tenant file must not move its `search_path`: its tables would land in another schema.
 */
import type { MigrationFile, MigrationScope } from './files.ts';
import { parseSql, position, type SqlStatement } from './sql-statements.ts';

export type SqlProblemKind = 'syntax' | 'meta-command' | 'copy-stdin' | 'transaction-control' | 'non-transactional' | 'search-path';

export interface SqlProblem {
  kind: SqlProblemKind;
  line: number;
  column: number;
  message: string;
}

export interface CheckedSql {
  /** What is sent, in order (a whole-file `BEGIN; … COMMIT;` wrapper left out). */
  statements: SqlStatement[];
  problems: SqlProblem[];
}

const DOWN_HINT = 'a .down.sql always runs in one transaction with its ledger row, so write it without that (DROP INDEX without CONCURRENTLY, say), or undo that part by hand';
const NO_TRANSACTION_HINT = 'put `-- migrate:no-transaction` on the file\'s first line (each statement then runs on its own, so make them idempotent), or move the statement to a file of its own with that line';

/** Parses and checks once per file and direction: a run over 10,000 tenants parses each file once. */
const checked = new WeakMap<MigrationFile, { up?: CheckedSql; down?: CheckedSql }>();

/** Call `loadSqlParser()` first. */
export function checkedSql(file: MigrationFile, scope: MigrationScope, direction: 'up' | 'down' = 'up'): CheckedSql {
  let entry = checked.get(file);
  if (!entry) checked.set(file, (entry = {}));
  // A down file always runs in a transaction (undo is one file, one transaction, with its ledger row).
  return (entry[direction] ??= direction === 'up'
    ? checkMigrationSql(file.sql, { scope, noTransaction: file.noTransaction })
    : checkMigrationSql(file.down ?? '', { scope, noTransaction: false, down: true }));
}

/**
 * Whether `file` can be undone: its `.down.sql` exists and holds a statement. A comment-only down
 * file (what `generate migration` writes) would let the ledger forget a file whose work stays.
 */
export function hasDown(file: MigrationFile, scope: MigrationScope): boolean {
  if (file.down === undefined) return false;
  const { statements, problems } = checkedSql(file, scope, 'down');
  return statements.length > 0 || problems.length > 0;
}

/** `down`: a `.down.sql`, which always runs in one transaction with its ledger row (no marker applies). */
export function checkMigrationSql(sql: string, { scope, noTransaction, down = false }: { scope: MigrationScope; noTransaction: boolean; down?: boolean }): CheckedSql {
  const wayOut = down ? DOWN_HINT : NO_TRANSACTION_HINT;
  const parsed = parseSql(sql);
  if (!parsed.ok) return { statements: [], problems: [whyUnparsable(sql, parsed.error)] };
  const problems: SqlProblem[] = [];
  const refuse = (statement: SqlStatement, kind: SqlProblemKind, message: string) => problems.push({ kind, line: statement.line, column: statement.column, message });

  let statements = parsed.statements;
  if (!noTransaction) statements = withoutWrapper(statements, refuse, wayOut);
  let openBlock: SqlStatement | undefined;
  for (const statement of statements) {
    const [kind, body] = nodeOf(statement);
    if (kind === 'CopyStmt' && body.is_from && !body.filename) {
      refuse(statement, 'copy-stdin', 'COPY … FROM stdin needs psql to send the rows that follow it. Write the rows as INSERT … VALUES, or load them with COPY from a file the server can read');
    }
    if (scope === 'tenant' && movesSearchPath(kind, body)) {
      refuse(statement, 'search-path', `${statement.text.split(/\s+/).slice(0, 3).join(' ')} would move the tenant's search_path, and the tables after it would land in another schema. Leave the search_path to the runner (it is the tenant's schema, then public), and qualify names you need from public`);
    }
    const control = transactionControl(kind, body);
    if (control) {
      if (!noTransaction) {
        refuse(statement, 'transaction-control', `${control} would end the runner's transaction, which holds the tenant's search_path and lock, and the statements after it would run outside it. The runner already runs the file in one transaction: remove it, or ${wayOut}${down ? '' : ', or split the file in two'}`);
      } else if (control === 'PREPARE TRANSACTION' || control.endsWith('PREPARED')) {
        refuse(statement, 'transaction-control', `${control} leaves a prepared transaction behind, holding its locks: migrations can't use two-phase commit`);
      } else if (body.kind === 'TRANS_STMT_BEGIN' || body.kind === 'TRANS_STMT_START') {
        if (openBlock) refuse(statement, 'transaction-control', `${control} inside the transaction opened at line ${openBlock.line}: close that one first`);
        openBlock = statement;
      } else if (body.kind === 'TRANS_STMT_COMMIT' || body.kind === 'TRANS_STMT_ROLLBACK') {
        if (!openBlock) refuse(statement, 'transaction-control', `${control} with no transaction open: remove it`);
        if (!body.chain) openBlock = undefined;
      }
    }
    const needsOwnTransaction = nonTransactional(kind, body);
    if (needsOwnTransaction && !noTransaction) {
      refuse(statement, 'non-transactional', `${needsOwnTransaction} cannot run inside a transaction, and the runner runs this file in one: ${wayOut}`);
    }
  }
  if (openBlock) problems.push({ kind: 'transaction-control', line: openBlock.line, column: openBlock.column, message: 'this transaction is never committed: end it with COMMIT in the same file' });
  return { statements, problems };
}

/** `BEGIN; … COMMIT;` around the whole file: the runner's own transaction, so both are dropped. */
function withoutWrapper(statements: SqlStatement[], refuse: (s: SqlStatement, kind: SqlProblemKind, message: string) => void, wayOut: string): SqlStatement[] {
  const first = statements[0];
  const last = statements.at(-1);
  if (!first || !last || first === last) return statements;
  const [firstKind, begin] = nodeOf(first);
  const [lastKind, end] = nodeOf(last);
  const opens = firstKind === 'TransactionStmt' && (begin.kind === 'TRANS_STMT_BEGIN' || begin.kind === 'TRANS_STMT_START');
  const commits = lastKind === 'TransactionStmt' && end.kind === 'TRANS_STMT_COMMIT' && !end.chain;
  if (!opens || !commits) return statements;
  if (Array.isArray(begin.options) && !begin.options.every(isRunnersDefault)) {
    refuse(first, 'transaction-control', `${first.text} asks for a transaction unlike the one the runner opens (read committed, read write, not deferrable): remove its options, or ${wayOut}`);
  }
  return statements.slice(1, -1);
}

/** A transaction option the runner's own transaction has anyway: read committed, read write, not deferrable. */
function isRunnersDefault(option: unknown): boolean {
  const { defname, arg } = (option as { DefElem?: { defname?: string; arg?: { A_Const?: { sval?: { sval?: string }; ival?: { ival?: number } } } } }).DefElem ?? {};
  const value = arg?.A_Const;
  if (defname === 'transaction_isolation') return value?.sval?.sval === 'read committed';
  return (defname === 'transaction_read_only' || defname === 'transaction_deferrable') && (value?.ival?.ival ?? 0) === 0;
}

function nodeOf(statement: SqlStatement): [string, Record<string, unknown>] {
  const [kind, body] = Object.entries(statement.node)[0] ?? ['', {}];
  return [kind, (body ?? {}) as Record<string, unknown>];
}

const TRANSACTION_KINDS: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN', TRANS_STMT_START: 'START TRANSACTION', TRANS_STMT_COMMIT: 'COMMIT', TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT', TRANS_STMT_RELEASE: 'RELEASE SAVEPOINT', TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION', TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED', TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

function transactionControl(kind: string, body: Record<string, unknown>): string | undefined {
  if (kind === 'TransactionStmt') return TRANSACTION_KINDS[String(body.kind)] ?? 'Transaction control';
  if (kind === 'VariableSetStmt' && body.name === 'TRANSACTION') return 'SET TRANSACTION';
  if (kind === 'VariableSetStmt' && body.name === 'SESSION CHARACTERISTICS') return 'SET SESSION CHARACTERISTICS AS TRANSACTION';
  if (kind === 'VariableSetStmt' && body.name === 'transaction_isolation') return 'SET transaction_isolation';
  return undefined;
}

function movesSearchPath(kind: string, body: Record<string, unknown>): boolean {
  if (kind === 'VariableSetStmt') return body.name === 'search_path' || body.kind === 'VAR_RESET_ALL';
  return kind === 'DiscardStmt';
}

/** The statements PostgreSQL refuses in a transaction block, named as a reader writes them. */
function nonTransactional(kind: string, body: Record<string, unknown>): string | undefined {
  const concurrently = (params: unknown) => Array.isArray(params) && params.some((p) => (p as { DefElem?: { defname?: string } }).DefElem?.defname === 'concurrently');
  switch (kind) {
    case 'IndexStmt': return body.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined;
    case 'DropStmt': return body.concurrent ? 'DROP INDEX CONCURRENTLY' : undefined;
    case 'ReindexStmt': return concurrently(body.params) ? 'REINDEX CONCURRENTLY' : body.kind === 'REINDEX_OBJECT_SYSTEM' || body.kind === 'REINDEX_OBJECT_DATABASE' ? 'REINDEX SYSTEM/DATABASE' : undefined;
    case 'VacuumStmt': return body.is_vacuumcmd ? 'VACUUM' : undefined;
    case 'ClusterStmt': return body.relation ? undefined : 'CLUSTER without a table';
    case 'CreatedbStmt': return 'CREATE DATABASE';
    case 'DropdbStmt': return 'DROP DATABASE';
    case 'CreateTableSpaceStmt': return 'CREATE TABLESPACE';
    case 'DropTableSpaceStmt': return 'DROP TABLESPACE';
    case 'AlterSystemStmt': return 'ALTER SYSTEM';
    case 'CreateSubscriptionStmt': return 'CREATE SUBSCRIPTION';
    case 'DropSubscriptionStmt': return 'DROP SUBSCRIPTION';
    case 'AlterTableStmt': {
      const detaches = Array.isArray(body.cmds) && body.cmds.some((c) => (c as { AlterTableCmd?: { def?: { PartitionCmd?: { concurrent?: boolean } } } }).AlterTableCmd?.def?.PartitionCmd?.concurrent);
      return detaches ? 'ALTER TABLE … DETACH PARTITION … CONCURRENTLY' : undefined;
    }
    default: return undefined;
  }
}

/** The first syntax error, said better where it is a psql-only construct. */
function whyUnparsable(sql: string, error: { message: string; offset: number; line: number; column: number }): SqlProblem {
  const { line, column, offset } = error;
  // A backslash is no SQL token: at the error, it starts a psql meta-command (at a line's start, or after a statement: `SELECT …; \gset`).
  const meta = /^\\[A-Za-z!?.]+/.exec(sql.slice(offset, offset + 40));
  if (meta) {
    return { kind: 'meta-command', line, column, message: `${meta[0]} is a psql meta-command, and the runner sends SQL to the server without psql. Remove it (write its effect in SQL)` };
  }
  const copy = copyFromStdinBefore(sql, offset);
  if (copy) return { kind: 'copy-stdin', ...copy, message: 'COPY … FROM stdin with its rows inline needs psql to send them. Write the rows as INSERT … VALUES, or load them with COPY from a file the server can read' };
  return { kind: 'syntax', line, column, message: `syntax error: ${error.message.replace(/^syntax error /, '')}` };
}

/** Where a `COPY … FROM stdin` statement ends just before `offset` (the inline rows), if one does. */
function copyFromStdinBefore(sql: string, offset: number): { line: number; column: number } | undefined {
  const end = sql.lastIndexOf(';', offset - 1);
  if (end < 0) return undefined;
  const before = parseSql(sql.slice(0, end + 1));
  if (!before.ok) return undefined;
  const last = before.statements.at(-1);
  const [kind, body] = last ? nodeOf(last) : ['', {}];
  if (kind !== 'CopyStmt' || !body.is_from || body.filename) return undefined;
  const { line, column } = position(sql, last!.offset);
  return { line, column };
}

export interface FileProblem extends SqlProblem {
  pluginId: string;
  scope: MigrationScope;
  /** e.g. `002_add_sku.sql` or `002_add_sku.down.sql` */
  file: string;
}

/** Every problem of every file (up and down) of these modules, whether or not it is pending anywhere. */
export function moduleFileProblems(modules: { id: string; files: Record<MigrationScope, MigrationFile[]> }[]): FileProblem[] {
  return modules.flatMap((module) => (['public', 'tenant'] as const).flatMap((scope) => module.files[scope].flatMap((file) => [
    ...checkedSql(file, scope, 'up').problems.map((p) => ({ pluginId: module.id, scope, file: file.name, ...p })),
    ...(file.down === undefined ? [] : checkedSql(file, scope, 'down').problems.map((p) => ({ pluginId: module.id, scope, file: file.name.replace(/\.sql$/, '.down.sql'), ...p }))),
  ])));
}

/** `tenant/002_x.sql line 3, column 1: …` */
export function describeProblem(problem: FileProblem): string {
  return `${problem.pluginId} ${problem.scope}/${problem.file} line ${problem.line}, column ${problem.column}: ${problem.message}.`;
}
