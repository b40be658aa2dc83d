/**
 * The shape of every name an author types that becomes a folder, a URL segment, a permission word
 * and (re-spelled) SQL and TS identifiers: plugin ids, entity, page and migration names.
 */

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Why `name` is not a lowercase kebab-case name of 2–40 characters, or undefined when it is. */
export function kebabNameProblem(name: unknown, { examples = 'stock-ledger' }: { examples?: string } = {}): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length < 2 || name.length > 40) return `must be 2–40 characters long (got ${name.length})`;
  if (!KEBAB.test(name)) return `must be lowercase kebab-case: letters, digits and single dashes, starting with a letter (e.g. ${examples})`;
  return undefined;
}
