/**
 * Every name the generators derive from what the author typed, and the checks on them. A name
 * reaches file paths, URLs, permissions, SQL and TypeScript, so it is checked once here and the
 * templates only ever see the derived, valid forms.
 */
import pluralize from 'pluralize';
import { kebabNameProblem, permissionProblem, pluginIdProblem } from '../rules/index.ts';
import { identifierClash, templateData } from './template-names.ts';

export { pluginIdProblem, RESERVED_PLUGIN_IDS } from '../rules/index.ts';

/** PostgreSQL truncates identifiers past 63 bytes; a truncated name would collide silently. */
const MAX_SQL_IDENTIFIER = 63;

/** The spellings of one kebab-case word group, e.g. `purchase-order`. */
export interface Spellings {
  /** `purchase-order`: file names, URL segments, permissions. */
  kebab: string;
  /** `purchase_order`: SQL. */
  snake: string;
  /** `purchaseOrder`: TS values. */
  camel: string;
  /** `PurchaseOrder`: TS types and components. */
  pascal: string;
  /** `PURCHASE_ORDER`: role template keys. */
  constant: string;
  /** `Purchase order`: what people read, at the start of a sentence. */
  title: string;
  /** `purchase order`: what people read, inside a sentence. */
  lower: string;
  /** `a purchase order`, `an item`. */
  a: string;
}

export function spell(kebab: string): Spellings {
  const words = kebab.split('-');
  const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
  return {
    kebab,
    snake: words.join('_'),
    camel: words[0] + words.slice(1).map(cap).join(''),
    pascal: words.map(cap).join(''),
    constant: words.join('_').toUpperCase(),
    title: cap(words.join(' ')),
    lower: words.join(' '),
    a: `${/^[aeiou]/.test(kebab) ? 'an' : 'a'} ${words.join(' ')}`,
  };
}

/** Names derived from a module id. */
export interface ModuleNames extends Spellings {
  id: string;
}

export function moduleNames(id: string): ModuleNames {
  const problem = pluginIdProblem(id);
  if (problem) throw new NameError(`Module id "${id}" ${problem}.`);
  return { id, ...spell(id) };
}

/** Names derived from an entity name (`item`, `purchase-order`) inside module `moduleId`. */
export interface EntityNames {
  one: Spellings;
  many: Spellings;
  /** Tenant table: `<module>_<plural>`, so two modules' tables never meet in a tenant schema. */
  table: string;
  /** Route parameter of one row: `purchaseOrderId`. */
  idParam: string;
  /** `<module>.<plural>`: the entity's permissions are this plus `.read|.create|.update|.delete`. */
  permissionPrefix: string;
}

export const ENTITY_ACTIONS = ['read', 'create', 'update', 'delete'] as const;

export function entityNames(moduleId: string, name: string): EntityNames {
  const entity = kebabProblem(name, 'Entity name', 'item, purchase-order');
  const module = moduleNames(moduleId);
  const singular = pluralize.singular(entity);
  const plural = pluralize.plural(singular);
  if (plural === singular) {
    throw new NameError(`Entity name "${name}" has the same singular and plural ("${plural}"): pick a countable noun, e.g. "entry" rather than "${name}".`);
  }
  const one = spell(singular);
  const many = spell(plural);
  const table = `${module.snake}_${many.snake}`;
  // The longest name made from the table is its index, `<table>_created_at_idx`.
  const longest = `${table}_created_at_idx`;
  if (longest.length > MAX_SQL_IDENTIFIER) {
    throw new NameError(`Entity "${name}" in module "${moduleId}" makes the SQL name "${longest}" (${longest.length} characters); PostgreSQL allows ${MAX_SQL_IDENTIFIER}. Use a shorter entity name.`);
  }
  const names: EntityNames = { one, many, table, idParam: `${one.camel}Id`, permissionPrefix: `${module.id}.${many.kebab}` };
  // The names become TS identifiers in the generated code: refuse those that would not compile.
  const clash = identifierClash(templateData(module, { entity: names }));
  if (clash) {
    const instead = [`${one.kebab}-entry`, `${one.kebab}-record`].find((other) => !refuses(() => entityNames(moduleId, other)));
    throw new NameError(`Entity name "${name}" ${clash}: pick a more specific name${instead ? `, e.g. "${instead}"` : ''}.`);
  }
  return names;
}

/** `add-stock` → migration file stem `add_stock`. */
export function migrationStem(name: string): string {
  return spell(kebabProblem(name, 'Migration name', 'add-stock-level, create-suppliers')).snake;
}

/** `reports.export` → `<module>.reports.export`. Accepts the name with or without the module prefix. */
export function permissionName(moduleId: string, name: string): string {
  const permission = name.startsWith(`${moduleId}.`) ? name : `${moduleId}.${name}`;
  const problem = permissionProblem(moduleId, permission);
  if (problem) {
    throw new NameError(`Permission "${name}" ${problem}. The module id "${moduleId}." is added in front when you leave it out.`);
  }
  return permission;
}

/** Page name `stock-report` → component `StockReportPage`, route `stock-report`. */
export function pageNames(name: string): Spellings {
  const page = spell(kebabProblem(name, 'Page name', 'overview, stock-report'));
  const clash = identifierClash({ page });
  if (clash) throw new NameError(`Page name "${name}" ${clash}: pick another name.`);
  return page;
}

/** A problem with a name the author typed: shown as is, with a non-zero exit. */
export class NameError extends Error {
  override readonly name = 'NameError';
}

/** Whether `check` throws: a suggestion is tried before it is offered. */
function refuses(check: () => unknown): boolean {
  try {
    check();
    return false;
  } catch {
    return true;
  }
}

function kebabProblem(name: string, what: string, examples: string): string {
  const problem = kebabNameProblem(name, { examples });
  if (problem) throw new NameError(`${what} "${name}" ${problem}.`);
  return name;
}
