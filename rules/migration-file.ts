/**
 * The one rule for migration file names, shared by the sandbox (which applies them) and the
 * generators (which write them): `NNN_description.sql`, with an optional `NNN_description.down.sql`
 * twin that undoes it. Files are ordered by the number read as an integer, so `010` follows `009`
 * and `1_x.sql` and `001_y.sql` share the number 1.
 */

export interface MigrationFileName {
  /** The file name as given, e.g. `002_add_sku.sql`. */
  file: string;
  number: number;
  /** `add_sku` */
  description: string;
  /** `.down.sql`: undoes migration `number`. */
  down: boolean;
}

const PATTERN = /^(\d{1,9})_([a-z0-9]+(?:_[a-z0-9]+)*)(\.down)?\.sql$/;

/** How to name a migration, for error messages. */
export const MIGRATION_FILE_RULE = 'name it NNN_description.sql (digits, an underscore, then lowercase words joined by _), e.g. 002_add_sku.sql, and its undo NNN_description.down.sql';

/** The parts of a migration file name, or undefined when `file` does not follow the rule. */
export function parseMigrationFileName(file: string): MigrationFileName | undefined {
  const match = PATTERN.exec(file);
  if (!match) return undefined;
  return { file, number: Number(match[1]), description: match[2]!, down: match[3] !== undefined };
}

/** `migrationFileName(3, 'add_sku')` → `003_add_sku.sql` (numbers padded to three digits). */
export function migrationFileName(number: number, description: string, { down = false } = {}): string {
  const file = `${String(number).padStart(3, '0')}_${description}${down ? '.down' : ''}.sql`;
  if (!parseMigrationFileName(file)) throw new Error(`Migration file name ${JSON.stringify(file)} does not follow the rule: ${MIGRATION_FILE_RULE}.`);
  return file;
}
