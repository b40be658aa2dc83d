/**
 * `generate migration`: the SQL from --sql / --down-sql or stdin, and what it tells the author
 * about when the migration runs (the same words as docs/authoring.md).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../scripts/examples.ts';
import { createModule, generateIn, scratchFolders } from './helpers/generator-runs.ts';

const tempDir = scratchFolders('fm-migration-');

async function freshModule(): Promise<string> {
  const cwd = tempDir();
  await createModule(cwd, 'stock-ledger', '--yes');
  return path.join(cwd, 'stock-ledger');
}

const generate = generateIn;

const read = (moduleDir: string, file: string) => fs.readFileSync(path.join(moduleDir, file), 'utf8');
const RUNS = 'It runs as soon as it holds a statement: a running `npm run dev` applies it when you save the file (else the next `npm run dev` or `npm test` does)';

describe('generate migration', () => {
  it('writes --sql after the comment and --down-sql into the .down.sql, and says when it runs', async () => {
    const dir = await freshModule();
    const out = await generate(dir, ['migration', 'add-sku', '--sql', 'ALTER TABLE stock_ledger_items ADD COLUMN sku text;', '--down-sql', '  ALTER TABLE stock_ledger_items DROP COLUMN sku;\n\n']);
    expect(out).toBe([
      'CREATE migrations/tenant/002_add_sku.sql',
      'CREATE migrations/tenant/002_add_sku.down.sql',
      '',
      `${RUNS}, once in every tenant schema.`,
    ].join('\n'));
    expect(read(dir, 'migrations/tenant/002_add_sku.sql')).toMatch(/^-- 002_add_sku: runs once in every tenant schema[^]*\.down\.sql undoes it\.\nALTER TABLE stock_ledger_items ADD COLUMN sku text;\n$/);
    expect(read(dir, 'migrations/tenant/002_add_sku.down.sql')).toBe('-- Undoes 002_add_sku.sql.\nALTER TABLE stock_ledger_items DROP COLUMN sku;\n');

    // The same command again: nothing to do, nothing to run.
    expect(await generate(dir, ['migration', 'add-sku', '--sql', 'ALTER TABLE stock_ledger_items ADD COLUMN sku text;', '--down-sql', 'ALTER TABLE stock_ledger_items DROP COLUMN sku;']))
      .toBe('SKIP   migrations/tenant/002_add_sku.sql  (unchanged)\nSKIP   migrations/tenant/002_add_sku.down.sql  (unchanged)');
  });

  it('reads --sql - from stdin', async () => {
    const dir = await freshModule();
    await generate(dir, ['migration', 'seed-units', '--public', '--sql', '-', '--down-sql', 'DELETE FROM units;'], "INSERT INTO units VALUES ('kg');\nINSERT INTO units VALUES ('m');\n");
    expect(read(dir, 'migrations/public/001_seed_units.sql')).toMatch(/\nINSERT INTO units VALUES \('kg'\);\nINSERT INTO units VALUES \('m'\);\n$/);
    expect(read(dir, 'migrations/public/001_seed_units.down.sql')).toMatch(/\nDELETE FROM units;\n$/);
  });

  it('reads --down-sql - from the stdin of the program', async () => {
    const dir = await freshModule();
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'foundation-module.js'), 'generate', 'migration', 'add-sku', '--sql', 'SELECT 1;', '--down-sql', '-'], {
      cwd: dir, encoding: 'utf8', input: 'SELECT 2;\n',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(read(dir, 'migrations/tenant/002_add_sku.down.sql')).toBe('-- Undoes 002_add_sku.sql.\nSELECT 2;\n');
  });

  it('keeps long SQL whole', async () => {
    const dir = await freshModule();
    const sql = Array.from({ length: 2000 }, (_, i) => `INSERT INTO stock_ledger_items (name) VALUES ('item ${i}');`).join('\n');
    await generate(dir, ['migration', 'seed-items', '--sql', sql]);
    expect(read(dir, 'migrations/tenant/002_seed_items.sql').endsWith(`\n${sql}\n`)).toBe(true);
  });

  it('without --sql, says where to write the SQL; in public, that it runs once per database', async () => {
    const dir = await freshModule();
    expect((await generate(dir, ['migration', 'add-sku'])).split('\n').at(-1))
      .toBe(`Write its SQL in migrations/tenant/002_add_sku.sql and the undo in migrations/tenant/002_add_sku.down.sql. ${RUNS}, once in every tenant schema.`);
    expect(read(dir, 'migrations/tenant/002_add_sku.down.sql')).toBe('-- Undoes 002_add_sku.sql.\n');
    expect((await generate(dir, ['migration', 'seed-units', '--public', '--sql', 'SELECT 1;'])).split('\n').at(-1))
      .toBe(`${RUNS}, once per database, in the public schema.`);
  });

  it('docs/authoring.md quotes what it prints', () => {
    const docs = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'authoring.md'), 'utf8');
    expect(docs).toContain(`  ${RUNS}, once in every tenant schema.\n`);
  });
});
