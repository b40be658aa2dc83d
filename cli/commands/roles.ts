/**
 * `foundation-module roles diff|apply|decline <plugin>`: a plugin's role templates against the
 * tenants' roles, on the same service as the admin API (operations/registry/role-templates.ts).
 * Nothing changes a tenant's role but `apply`.
 */
import mri from 'mri';
import path from 'node:path';
import { applyRoleTemplate, declineRoleTemplate, roleTemplateDiffs, RoleTemplateError } from '../../operations/registry/role-templates.ts';
import { pluginIdProblem, tenantCodeProblem } from '../../rules/index.ts';
import { currentActor } from '../../sandbox/data/transaction-actor.ts';
import { CliError, UsageError } from '../errors.ts';
import { flagValues, singleFlagValue } from '../flag-values.ts';
import { table } from '../migrate/output.ts';
import { openOperatorDatabase } from '../operator-database.ts';

export const ROLES_HELP = `Usage: foundation-module roles <diff|apply|decline> <plugin> [options]

  diff <plugin>      for each tenant role that one of the plugin's role templates names, what the
                     template would add (ROLE: + permission) and how many users hold the role
  apply <plugin>     grant the role what its template adds: --tenant <code> --role <KEY>
  decline <plugin>   remember that the tenant declines it for this template version: --tenant --role

Options:
  --tenant <code>        diff: only these tenants (repeatable); apply, decline: the tenant
  --role <KEY>           apply, decline: the role's key
  --declined             diff: list the declined suggestions too
  --json                 one JSON object per line
  --database-url <url>   the PostgreSQL to work on (default: DATABASE_URL)
  --sandbox-dir <dir>    without a database URL, the embedded database's folder (default ./.sandbox)

Exit codes: 0 done, 1 no such template for that role, 2 usage.
`;

const STRINGS = ['tenant', 'role', 'database-url', 'sandbox-dir'];
const BOOLEANS = ['declined', 'json', 'help'];

export async function rolesCommand(argv: string[], { cwd = process.cwd(), write = (line: string) => console.log(line) } = {}): Promise<number> {
  const args = mri(argv, { boolean: [...BOOLEANS], string: [...STRINGS], alias: { h: 'help' } });
  const unknown = Object.keys(args).find((key) => key !== '_' && key !== 'h' && !STRINGS.includes(key) && !BOOLEANS.includes(key));
  if (unknown) throw new UsageError(`Unknown option --${unknown}. Run foundation-module roles --help for the options.`);
  const [sub, pluginId, ...extra] = args._.map(String);
  if (args.help || !sub) {
    write(ROLES_HELP);
    return args.help ? 0 : 2;
  }
  if (!['diff', 'apply', 'decline'].includes(sub)) throw new UsageError(`Unknown roles command "${sub}": use diff, apply or decline.`);
  if (pluginId === undefined) throw new UsageError(`roles ${sub} needs a plugin id: foundation-module roles ${sub} <plugin>.`);
  if (pluginIdProblem(pluginId)) throw new UsageError(`${JSON.stringify(pluginId)} is not a plugin id: it ${pluginIdProblem(pluginId)}.`);
  if (extra.length > 0) throw new UsageError(`roles ${sub} takes one plugin id (got also ${extra.map((e) => JSON.stringify(e)).join(', ')}).`);
  const tenants = flagValues(args, 'tenant');
  for (const code of tenants ?? []) if (tenantCodeProblem(code)) throw new UsageError(`--tenant ${JSON.stringify(code)} is not a tenant code: it ${tenantCodeProblem(code)}.`);
  const role = singleFlagValue(args, 'role');
  if (sub === 'diff' && role !== undefined) throw new UsageError('--role goes with apply and decline.');
  if (sub !== 'diff') {
    if (tenants?.length !== 1 || role === undefined) throw new UsageError(`roles ${sub} changes one role of one tenant: --tenant <code> --role <KEY>.`);
    if (!/^[A-Z][A-Z0-9_]{0,62}$/.test(role)) throw new UsageError(`--role ${JSON.stringify(role)} is not a role key (UPPER_SNAKE_CASE).`);
    if (args.declined) throw new UsageError('--declined goes with diff.');
  }
  const sandboxDir = singleFlagValue(args, 'sandbox-dir');
  const database = await openOperatorDatabase({ databaseUrl: singleFlagValue(args, 'database-url'), sandboxDir: sandboxDir && path.resolve(cwd, sandboxDir), maxConnections: 2 }, cwd, write);
  try {
    if (sub === 'diff') {
      const diffs = await roleTemplateDiffs(database.pool, pluginId, { tenants, includeDeclined: args.declined === true });
      if (args.json) diffs.forEach((diff) => write(JSON.stringify({ event: 'diff', plugin: pluginId, ...diff })));
      else if (diffs.length === 0) write(`Plugin ${pluginId}: its role templates add nothing to the tenants' roles${args.declined ? '' : ' (declined suggestions left out: --declined)'}.`);
      else write(table([['tenant', 'role', 'adds', 'users', 'version', 'state'], ...diffs.map((d) => [d.tenant, d.role, d.add.map((p) => `+ ${p}`).join(', '), String(d.users), d.version, d.state])]).join('\n'));
      return 0;
    }
    const actor = currentActor()?.actor ?? 'cli';
    const granted = sub === 'apply' ? await applyRoleTemplate(database.pool, pluginId, tenants![0]!, role!, actor) : (await declineRoleTemplate(database.pool, pluginId, tenants![0]!, role!, actor), []);
    if (args.json) write(JSON.stringify({ event: sub, plugin: pluginId, tenant: tenants![0], role, granted }));
    else write(sub === 'apply'
      ? `Role ${role} of tenant ${tenants![0]}: ${granted.length ? `granted ${granted.join(', ')}` : 'already holds what the template grants'}.`
      : `Role ${role} of tenant ${tenants![0]}: the template's suggestion is declined for this version, and not proposed again.`);
    return 0;
  } catch (error) {
    throw error instanceof RoleTemplateError ? new CliError(error.message, 1) : error;
  } finally {
    await database.close();
  }
}
