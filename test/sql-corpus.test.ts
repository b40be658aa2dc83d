/**
 * The runner splits files as psql does, statement by statement, on SQL nobody here wrote:
 * PostgreSQL's own regression files and the hard cases of test/fixtures/sql-corpus/. psql's
 * split is read from its query log (`psql -L`), running each file in a throw-away database.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMigrationSql } from '../operations/migrations/file-check.ts';
import { loadSqlParser, parseSql, skipSpaceAndComments } from '../operations/migrations/sql-statements.ts';
import { createThrowawayDatabase, databaseServers, type ThrowawayDatabase } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';

const CORPUS = path.join(REPO_ROOT, 'test', 'fixtures', 'sql-corpus');
const FILES = fs.readdirSync(CORPUS).filter((name) => name.endsWith('.sql')).sort();
const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });
const noPsql = psql.status !== 0 ? 'psql is not installed (apt-get install postgresql-client): it is the truth these files are compared with' : undefined;

/**
 * A statement from its first token to its end, without the `;` psql sends, and without empty
 * lines: psql drops an empty input line outside a quote (the server reads it as whitespace).
 */
function normalized(statement: string): string {
  const text = statement.slice(skipSpaceAndComments(statement, 0));
  return text.trimEnd().replace(/;$/, '').trimEnd().replace(/\n\n+/g, '\n');
}

function psqlStatements(url: string, file: string): string[] {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fm-psql-log-')), 'queries.log');
  const run = spawnSync('psql', ['-X', '-q', '-d', url, '-f', file, '-L', log, '-o', '/dev/null'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, PGOPTIONS: '-c client_min_messages=error' } });
  expect(run.error).toBeUndefined();
  const text = fs.readFileSync(log, 'utf8');
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  return text.split('********* QUERY **********\n').slice(1).map((block) => block.slice(0, block.indexOf('\n**************************\n')))
    .map(normalized).filter((statement) => statement !== '');
}

describe.skipIf(noPsql)(`splitting real SQL as psql does${noPsql ? ` (skipped: ${noPsql})` : ''}`, () => {
  let database: ThrowawayDatabase;
  beforeAll(async () => {
    await loadSqlParser();
    database = await createThrowawayDatabase(databaseServers()[0]!.url);
  });
  afterAll(() => database?.drop());

  it.each(FILES)('%s: the same statements, in the same order', (name) => {
    const file = path.join(CORPUS, name);
    const parsed = parseSql(fs.readFileSync(file, 'utf8'));
    if (!parsed.ok) throw new Error(`${name} line ${parsed.error.line}: ${parsed.error.message}`);
    const ours = parsed.statements.map((statement) => normalized(statement.text));
    const theirs = psqlStatements(database.url, file);
    expect(theirs.length).toBeGreaterThan(0);
    // Statement by statement: a difference shows where the two splits part.
    const firstDifference = ours.findIndex((statement, i) => statement !== theirs[i]);
    expect({ at: firstDifference, ours: ours[firstDifference], psql: theirs[firstDifference] }).toEqual({ at: -1, ours: undefined, psql: undefined });
    expect(ours.length).toBe(theirs.length);
  });
});

describe('what the runner sends of the corpus', () => {
  beforeAll(() => loadSqlParser());

  it('finds lines and columns in text outside ASCII', () => {
    const parsed = parseSql("SELECT 'é🐘';\n  SELECT 'ü';");
    expect(parsed.ok && parsed.statements.map((s) => [s.text, s.line, s.column])).toEqual([["SELECT 'é🐘'", 1, 1], ["SELECT 'ü'", 2, 3]]);
  });

  it('runs a real-world file wrapped whole in BEGIN; … COMMIT; as one transaction, without the wrapper', () => {
    const checked = checkMigrationSql(fs.readFileSync(path.join(CORPUS, 'real-world-migrations.sql'), 'utf8'), { scope: 'tenant', noTransaction: false });
    expect(checked.problems).toEqual([]);
    expect(checked.statements[0]!.text).toMatch(/^CREATE TYPE order_status/);
    expect(checked.statements.at(-1)!.text).toMatch(/^ALTER TYPE order_status ADD VALUE/);
  });

  it.each([
    ['a NUL character, which would hide the rest of the file from the parser', 'SELECT 1;\nSELECT 2\0; DROP TABLE x;', 'syntax', 2, 9],
    ['a syntax error', 'SELECT 1;\nSELEC 2;', 'syntax', 2, 1],
    ['a meta-command after a statement', 'SELECT 1;\n\\i other.sql\n', 'meta-command', 2, 1],
    ['a meta-command on a statement\'s line', "SELECT 'a' AS x \\gset\nSELECT 2;", 'meta-command', 1, 17],
    ['COPY FROM stdin without rows', 'COPY t FROM STDIN;', 'copy-stdin', 1, 1],
    ['a tenant file moving its search_path', 'SET search_path TO public;\nCREATE TABLE x (n int);', 'search-path', 1, 1],
    ['RESET ALL in a tenant file', 'RESET ALL;', 'search-path', 1, 1],
    ['a wrapper asking for another isolation level', 'BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;', 'transaction-control', 1, 1],
    ['a read-only wrapper', 'START TRANSACTION READ ONLY;\nSELECT 1;\nCOMMIT;', 'transaction-control', 1, 1],
    ['VACUUM', 'VACUUM;', 'non-transactional', 1, 1],
    ['DROP INDEX CONCURRENTLY', 'DROP INDEX CONCURRENTLY IF EXISTS i;', 'non-transactional', 1, 1],
    ['REINDEX CONCURRENTLY', 'REINDEX TABLE CONCURRENTLY t;', 'non-transactional', 1, 1],
    ['ALTER SYSTEM', 'ALTER SYSTEM SET work_mem = 1;', 'non-transactional', 1, 1],
    ['CREATE DATABASE', 'CREATE DATABASE other;', 'non-transactional', 1, 1],
    ['DETACH PARTITION CONCURRENTLY', 'ALTER TABLE p DETACH PARTITION c CONCURRENTLY;', 'non-transactional', 1, 1],
  ])('refuses %s', (_what, sql, kind, line, column) => {
    expect(checkMigrationSql(sql, { scope: 'tenant', noTransaction: false }).problems[0]).toMatchObject({ kind, line, column });
  });

  it('tells a .down.sql, which no marker takes out of its transaction, to do without CONCURRENTLY', () => {
    const [problem] = checkMigrationSql('-- migrate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS i;', { scope: 'tenant', noTransaction: false, down: true }).problems;
    expect(problem).toMatchObject({ kind: 'non-transactional', line: 2, column: 1 });
    expect(problem!.message).toMatch(/a \.down\.sql always runs in one transaction .*DROP INDEX without CONCURRENTLY/);
    expect(problem!.message).not.toMatch(/migrate:no-transaction/);
  });

  it('takes a wrapper whose options are the runner\'s own transaction\'s, and drops it', () => {
    const checked = checkMigrationSql('BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE, NOT DEFERRABLE;\nCREATE TABLE t (n int);\nCOMMIT;', { scope: 'tenant', noTransaction: false });
    expect(checked.problems).toEqual([]);
    expect(checked.statements.map((s) => s.text)).toEqual(['CREATE TABLE t (n int)']);
  });

  it.each([
    ['CREATE INDEX CONCURRENTLY', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);'],
    ['a closed transaction block', 'BEGIN;\nUPDATE t SET a = 1;\nCOMMIT;\nVACUUM t;'],
  ])('takes %s in a -- migrate:no-transaction file', (_what, sql) => {
    expect(checkMigrationSql(`-- migrate:no-transaction\n${sql}`, { scope: 'tenant', noTransaction: true }).problems).toEqual([]);
  });

  it.each([
    ['a transaction left open', 'BEGIN;\nUPDATE t SET a = 1;', /never committed/],
    ['PREPARE TRANSACTION', "BEGIN;\nPREPARE TRANSACTION 'x';", /two-phase commit/],
    ['a COMMIT with nothing open', 'COMMIT;', /no transaction open/],
  ])('refuses %s in a -- migrate:no-transaction file', (_what, sql, message) => {
    expect(checkMigrationSql(sql, { scope: 'tenant', noTransaction: true }).problems[0]?.message).toMatch(message);
  });
});
