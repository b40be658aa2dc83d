/**
 * Writing a migration while the sandbox runs: `generate migration` writes a comment-only file,
 * which is not applied (nor recorded) until it holds a statement; editing it after the sandbox
 * applied it undoes it with its down file and applies it again, saying so. The operator
 * commands keep refusing a changed file: there it is drift.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase, databaseServers } from '../testing/index.ts';
import { moduleVariant } from './helpers/examples.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const GENERATED = '-- 002_add_note: runs once in every tenant schema, in a transaction.\n';
const GENERATED_DOWN = '-- Undoes 002_add_note.sql.\n';

describe.each(databaseServers())('editing the newest migration in the sandbox on $name PostgreSQL', (server) => {
  it('skips a file with no statement, applies it once written, and redoes it when edited; the operator commands still refuse the change', async (context) => {
    const database = await createThrowawayDatabase(server.url);
    context.onTestFinished(() => database.drop());
    const dir = moduleVariant({});
    dirs.push(dir);
    const tenantFile = (name: string, sql: string) => fs.writeFileSync(path.join(dir, 'migrations', 'tenant', name), sql);
    const lines: string[] = [];
    const start = () => createSandbox({
      moduleDirs: [dir], databaseUrl: database.url, maxConnections: 5,
      logger: createLogger({ level: 'info', destination: new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }) }),
    });
    const ledger = async (sandbox: Awaited<ReturnType<typeof start>>) =>
      (await sandbox.database.pool.query<{ n: number; checksums: number }>(`SELECT count(*)::int AS n, count(DISTINCT checksum)::int AS checksums FROM sys_plugin_migrations WHERE name = '002_add_note.sql'`)).rows[0];
    const noteColumn = async (sandbox: Awaited<ReturnType<typeof start>>) =>
      (await sandbox.database.pool.query(`SELECT table_schema, is_nullable FROM information_schema.columns WHERE table_name = 'items_items' AND column_name = 'note' ORDER BY 1`)).rows;

    // As `generate migration add-note` writes it, while dev runs: dev restarts the API at once.
    tenantFile('002_add_note.sql', GENERATED);
    tenantFile('002_add_note.down.sql', GENERATED_DOWN);
    let sandbox = await start();
    expect(await ledger(sandbox)).toEqual({ n: 0, checksums: 0 });
    expect(lines.join('')).toMatch(/items tenant\/002_add_note\.sql has no statement yet: it is not applied until it has one/);
    await sandbox.close();

    tenantFile('002_add_note.sql', `${GENERATED}ALTER TABLE items_items ADD COLUMN note text;\n`);
    tenantFile('002_add_note.down.sql', `${GENERATED_DOWN}ALTER TABLE items_items DROP COLUMN note;\n`);
    sandbox = await start();
    expect(await ledger(sandbox)).toEqual({ n: 2, checksums: 1 });
    expect(await noteColumn(sandbox)).toEqual([{ table_schema: 'tenant_acme', is_nullable: 'YES' }, { table_schema: 'tenant_dev', is_nullable: 'YES' }]);
    await sandbox.close();

    lines.length = 0;
    tenantFile('002_add_note.sql', `${GENERATED}ALTER TABLE items_items ADD COLUMN note text NOT NULL DEFAULT '';\n`);
    sandbox = await start();
    expect(lines.join('')).toMatch(/items tenant\/002_add_note\.sql changed after the sandbox applied it in tenant (acme|dev) \(schema tenant_\w+\): undone with the \.down\.sql and applied again/);
    expect(await noteColumn(sandbox)).toEqual([{ table_schema: 'tenant_acme', is_nullable: 'NO' }, { table_schema: 'tenant_dev', is_nullable: 'NO' }]);
    expect(await ledger(sandbox)).toEqual({ n: 2, checksums: 1 });
    await sandbox.close();

    // Where it matters, a changed file is still drift: the operator commands refuse it.
    tenantFile('002_add_note.sql', `${GENERATED}ALTER TABLE items_items ADD COLUMN note varchar(10);\n`);
    const out: string[] = [];
    expect(await migrateCommand(['up', dir, '--database-url', database.url], { cwd: os.tmpdir(), write: (line) => out.push(line) })).toBe(1);
    expect(out.join('\n')).toMatch(/changed: Migration tenant\/002_add_note\.sql of plugin "items" was changed after it ran/);
    const direct = new pg.Pool({ connectionString: database.url, max: 1 });
    const { rows } = await direct.query(`SELECT DISTINCT data_type, is_nullable FROM information_schema.columns WHERE table_name = 'items_items' AND column_name = 'note'`);
    await direct.end();
    expect(rows).toEqual([{ data_type: 'text', is_nullable: 'NO' }]);

    // With a down file of comments only (as generated) there is no way to undo it: the start is refused, saying what to do.
    tenantFile('002_add_note.down.sql', GENERATED_DOWN);
    tenantFile('002_add_note.sql', `${GENERATED}ALTER TABLE items_items ADD COLUMN note text NOT NULL DEFAULT 'x';\n`);
    await expect(start()).rejects.toThrow(/has no 002_add_note\.down\.sql with a statement in it \(only comments\)\. Write one .*rm -rf \.sandbox/);
  });
});
