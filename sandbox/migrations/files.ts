/**
 * A module's SQL migration files, read from its folder alone (no plugin code runs to migrate):
 * `migrations/public/*.sql` run once per database, `migrations/tenant/*.sql` once in every tenant
 * schema, in the order of their numbers (rules/migration-file.ts). `NNN_name.down.sql` files undo;
 * they are not applied going up.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATION_FILE_RULE, parseMigrationFileName } from '../../rules/index.ts';
import { SandboxStartError } from '../errors.ts';
export type MigrationScope = 'public' | 'tenant';

export interface MigrationFile {
  /** File name, e.g. `001_init.sql`; the key recorded in sys_plugin_migrations. */
  name: string;
  sql: string;
  checksum: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The up migrations of one scope of a module, in order. Names that don't fit are refused. */
export function readMigrations(moduleDir: string, scope: MigrationScope): MigrationFile[] {
  const dir = path.join(moduleDir, 'migrations', scope);
  if (!fs.existsSync(dir)) return [];
  const files: { number: number; name: string }[] = [];
  for (const name of fs.readdirSync(dir)) {
    const parsed = parseMigrationFileName(name);
    if (!parsed) {
      if (name.endsWith('.sql')) throw new SandboxStartError(`Migration ${path.join(dir, name)}: ${MIGRATION_FILE_RULE}.`);
      continue;
    }
    if (parsed.down) continue;
    const same = files.find((f) => f.number === parsed.number);
    if (same) throw new SandboxStartError(`Migrations ${same.name} and ${name} in ${dir} share the number ${parsed.number}: renumber one.`);
    files.push({ number: parsed.number, name });
  }
  return files
    .sort((a, b) => a.number - b.number)
    .map(({ name }) => {
      const sql = fs.readFileSync(path.join(dir, name), 'utf8');
      return { name, sql, checksum: sha256(sql) };
    });
}
