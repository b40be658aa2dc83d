/**
 * A module's SQL migration files, read from its folder alone (no plugin code runs to migrate):
 * `migrations/public/*.sql` run once per database, `migrations/tenant/*.sql` once in every tenant
 * schema, in the order of their numbers (rules/migration-file.ts). Numbers start at 1 and have no
 * gaps or duplicates, so a file that went missing in a merge is noticed. `NNN_name.down.sql`
 * undoes `NNN_name.sql`; it is never applied going up. Reading a file does not parse it: the
 * statements are parsed when a plan needs them (file-check.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATION_FILE_RULE, parseMigrationFileName } from '../../rules/index.ts';
import { SandboxStartError } from '../../sandbox/errors.ts';

export type MigrationScope = 'public' | 'tenant';
export const MIGRATION_SCOPES: readonly MigrationScope[] = ['public', 'tenant'];

/** The checksum's algorithm, stored beside it in the ledger so that it can change one day. */
export const CHECKSUM_ALGORITHM = 'sha256';

/** First line of a file that must run outside a transaction (e.g. `CREATE INDEX CONCURRENTLY`). */
export const NO_TRANSACTION = '-- migrate:no-transaction';

export interface MigrationFile {
  /** File name, e.g. `001_init.sql`; the key recorded in sys_plugin_migrations. */
  name: string;
  number: number;
  sql: string;
  /** sha256 (hex) of the text with CRLF read as LF, so a checkout's line endings change nothing. */
  checksum: string;
  /** Runs outside a transaction, each statement on its own; recorded after the last one. */
  noTransaction: boolean;
  /** The `.down.sql` twin's text, when there is one. */
  down?: string;
}

export class MigrationFileError extends SandboxStartError {
  override name = 'MigrationFileError';
}

export function checksumOf(text: string): string {
  return createHash(CHECKSUM_ALGORITHM).update(text.replaceAll('\r\n', '\n')).digest('hex');
}

/** The up migrations of one scope of a module, in order, each with its down twin if any. */
export function readMigrations(moduleDir: string, scope: MigrationScope): MigrationFile[] {
  const dir = path.join(moduleDir, 'migrations', scope);
  if (!fs.existsSync(dir)) return [];
  const ups = new Map<number, string>();
  const downs = new Map<number, string>();
  for (const name of fs.readdirSync(dir).sort()) {
    const parsed = parseMigrationFileName(name);
    if (!parsed) {
      if (name.endsWith('.sql')) throw new MigrationFileError(`Migration ${path.join(dir, name)}: ${MIGRATION_FILE_RULE}.`);
      continue;
    }
    const same = parsed.down ? downs : ups;
    const other = same.get(parsed.number);
    if (other) throw new MigrationFileError(`Migrations ${other} and ${name} in ${dir} share the number ${parsed.number}: renumber one.`);
    same.set(parsed.number, name);
  }
  const numbers = [...ups.keys()].sort((a, b) => a - b);
  numbers.forEach((number, index) => {
    if (number !== index + 1) {
      const expected = index + 1;
      throw new MigrationFileError(`Migrations in ${dir} must be numbered 1, 2, 3… without gaps: ${ups.get(number)} comes where number ${expected} should be. Renumber it, or restore the missing file.`);
    }
  });
  for (const [number, name] of downs) {
    const up = ups.get(number);
    if (!up || up.replace(/\.sql$/, '.down.sql') !== name) {
      throw new MigrationFileError(`${path.join(dir, name)} undoes no migration: name it after its up file (${up ? up.replace(/\.sql$/, '.down.sql') : `${String(number).padStart(3, '0')}_<name>.down.sql beside ${String(number).padStart(3, '0')}_<name>.sql`}).`);
    }
  }
  return numbers.map((number) => {
    const name = ups.get(number)!;
    const sql = fs.readFileSync(path.join(dir, name), 'utf8');
    const downName = downs.get(number);
    return {
      name,
      number,
      sql,
      checksum: checksumOf(sql),
      noTransaction: sql.replace(/^\uFEFF/, '').trimStart().startsWith(NO_TRANSACTION),
      ...(downName ? { down: fs.readFileSync(path.join(dir, downName), 'utf8') } : {}),
    };
  });
}
