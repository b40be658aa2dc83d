/** Reading a module's migration files (sandbox/migrations/files.ts): the rule, numbering, checksums, splitting. */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumOf, MigrationFileError, readMigrations } from '../operations/migrations/files.ts';
import { loadSqlParser, parseSql } from '../operations/migrations/sql-statements.ts';
import { fixtureModule } from './helpers/migration-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const tenantFiles = (files: Record<string, string>) => {
  const dir = fixtureModule('files', Object.fromEntries(Object.entries(files).map(([name, sql]) => [`tenant/${name}`, sql])));
  dirs.push(dir);
  return () => readMigrations(dir, 'tenant');
};

describe('migration files', () => {
  it('reads them in the order of their numbers, each with its down twin and a checksum', () => {
    const files = tenantFiles({ '010_j.sql': 'SELECT 10;', '9_i.sql': 'SELECT 9;', ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`00${i + 1}_f${i + 1}.sql`, `SELECT ${i + 1};`])), '001_f1.down.sql': 'SELECT -1;' })();
    expect(files.map((f) => f.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(files[0]).toMatchObject({ name: '001_f1.sql', down: 'SELECT -1;', noTransaction: false, checksum: checksumOf('SELECT 1;') });
  });

  it.each([
    ['a gap', { '001_a.sql': '', '003_c.sql': '' }, /numbered 1, 2, 3… without gaps: 003_c\.sql comes where number 2 should be/],
    ['not starting at 1', { '002_b.sql': '' }, /without gaps: 002_b\.sql comes where number 1 should be/],
    ['a duplicate number', { '001_a.sql': '', '1_b.sql': '' }, /share the number 1/],
    ['a name off the rule', { '001_a.sql': '', '002-b.sql': '' }, /002-b\.sql: name it NNN_description\.sql/],
    ['a down file without its up file', { '001_a.sql': '', '002_b.down.sql': '' }, /002_b\.down\.sql undoes no migration/],
    ['a down file named after another', { '001_a.sql': '', '001_b.down.sql': '' }, /001_b\.down\.sql undoes no migration: name it after its up file \(001_a\.down\.sql\)/],
  ])('refuses %s, naming the file', (_what, files, message) => {
    expect(tenantFiles(files)).toThrow(MigrationFileError);
    expect(tenantFiles(files)).toThrow(message);
  });

  it('gives CRLF and LF versions of a file one checksum, and other text another', () => {
    expect(checksumOf('CREATE TABLE a (n int);\r\nSELECT 1;\r\n')).toBe(checksumOf('CREATE TABLE a (n int);\nSELECT 1;\n'));
    expect(checksumOf('SELECT 1;\n')).not.toBe(checksumOf('SELECT 2;\n'));
  });

  it('sees -- migrate:no-transaction on the first line only', () => {
    const files = tenantFiles({ '001_a.sql': '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY x ON t (n);', '002_b.sql': 'SELECT 1;\n-- migrate:no-transaction\n' })();
    expect(files.map((f) => f.noTransaction)).toEqual([true, false]);
  });
});

const statementTexts = (sql: string) => {
  const parsed = parseSql(sql);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.statements.map((s) => s.text);
};

describe('splitting a file into statements', () => {
  beforeAll(() => loadSqlParser());

  it.each([
    ['plain statements', 'SELECT 1; SELECT 2;', ['SELECT 1', 'SELECT 2']],
    ['a dollar-quoted body', 'CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql; SELECT 2;', ['CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql', 'SELECT 2']],
    ['a tagged dollar quote', "SELECT $x$;$x$; SELECT ';';", ['SELECT $x$;$x$', "SELECT ';'"]],
    ['quotes and identifiers', `SELECT 'it''s; fine'; SELECT "semi;colon" FROM t;`, ["SELECT 'it''s; fine'", 'SELECT "semi;colon" FROM t']],
    ['an escape string', "SELECT E'a\\';b'; SELECT 3;", ["SELECT E'a\\';b'", 'SELECT 3']],
    ['nested block comments', '/* a; /* b; */ c; */ SELECT 1;', ['SELECT 1']],
    ['comment-only pieces and a trailing comment', '-- header; still header\nSELECT 1;\n-- the end;\n', ['SELECT 1']],
  ])('keeps %s whole', (_what, sql, statements) => {
    expect(statementTexts(sql)).toEqual(statements);
  });

  it.each([
    ['a quote', "SELECT 1;\nSELECT 'open;", 2, 8, /unterminated quoted string/],
    ['a dollar quote', 'SELECT $$ open;', 1, 8, /unterminated dollar-quoted string/],
    ['a comment', 'SELECT 1; /* open', 1, 11, /unterminated \/\* comment/],
  ])('reports %s that is never closed with its line and column', (_what, sql, line, column, message) => {
    const parsed = parseSql(sql);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? undefined : parsed.error).toMatchObject({ line, column, message: expect.stringMatching(message) });
  });
});
