/**
 * Names that go into SQL as identifiers (a tenant's schema, a table). They are checked or
 * quoted here, never interpolated as they come; the migration runner and the operator commands
 * use these without the request-time tenancy (tenancy.ts) and its query builder.
 */
import { schemaNameProblem } from '../../rules/index.ts';

/** `name` when it is a valid tenant schema name (see rules/tenant.ts), else a throw naming the rule. */
export function assertSchemaName(name: string): string {
  const problem = schemaNameProblem(name);
  if (problem) throw new Error(`Invalid tenant schema name ${JSON.stringify(name)}: it ${problem}.`);
  return name;
}

/** `name` as a quoted identifier: whatever it holds stays one name. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
