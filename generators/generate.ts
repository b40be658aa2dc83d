/**
 * `foundation-module generate <entity|migration|permission|page> <name>` inside a module
 * (`npm run generate -- entity supplier`). Every kind takes `--dry-run`, which lists
 * CREATE/UPDATE/SKIP with a diff for each update and writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import mri from 'mri';
import { formatChanges, generate } from './changes.ts';
import { entityNames, migrationStem, moduleNames, NameError, pageNames, permissionName } from './names.ts';
import { templateData } from './plop.ts';

export const GENERATE_HELP = `Usage: foundation-module generate <kind> <name> [--dry-run]

Kinds:
  entity <name>        A table (next tenant migration + down), Drizzle schema, CRUD routes with
                       validation, permissions <id>.<plural>.read|create|update|delete, a page
                       with its menu entry, and API + page tests. e.g. entity purchase-order
  migration <name>     The next numbered migration and its down file, e.g. migration add-sku
    --public           in migrations/public (once per database) instead of migrations/tenant
  permission <name>    A permission <id>.<name>, e.g. permission reports.export
  page <name>          A page with a route, a menu entry and a render test, e.g. page overview
    --permission <p>   show the menu entry only to holders of <id>.<p>

Options:
  --dry-run            List what would change (with diffs); write nothing
  --cwd <dir>          The module folder (default: the current folder)

Running the same command twice changes nothing the second time; your files are never overwritten.
`;

export class GenerateUsageError extends Error {
  override readonly name = 'GenerateUsageError';
}

export interface GenerateIo {
  cwd: string;
  log: (text: string) => void;
}

export async function runGenerate(argv: string[], io: GenerateIo): Promise<number> {
  const args = mri(argv, { boolean: ['dry-run', 'public', 'help'], string: ['permission', 'cwd'], alias: { h: 'help' } });
  const [kind, name, ...extra] = args._.map(String);
  if (args.help || !kind) {
    io.log(GENERATE_HELP);
    return args.help ? 0 : 2;
  }
  if (!name) throw new GenerateUsageError(`Missing the name: foundation-module generate ${kind} <name>. Run foundation-module generate --help for examples.`);
  if (extra.length > 0) throw new GenerateUsageError(`One name at a time (got ${[name, ...extra].join(', ')}).`);

  const moduleDir = path.resolve(io.cwd, args.cwd ?? '.');
  const module = moduleNames(readModuleId(moduleDir));
  const answers = answersFor(kind, name, module.id, args);
  const dryRun = args['dry-run'];
  const changes = await generate({ generator: kind, answers: templateData(module, answers), moduleDir, dryRun });

  io.log(dryRun ? `Dry run: nothing written.\n${formatChanges(changes, { diffs: true })}` : formatChanges(changes));
  if (!dryRun && kind === 'entity' && changes.some((c) => c.kind !== 'SKIP')) {
    io.log('\nThe migration runs at the next `npm run dev` or test run; `npm test` covers the new routes and page.');
  }
  return 0;
}

function answersFor(kind: string, name: string, moduleId: string, args: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case 'entity':
      return { entity: entityNames(moduleId, name) };
    case 'migration':
      return { scope: args.public ? 'public' : 'tenant', stem: migrationStem(name) };
    case 'permission':
      return { permission: permissionName(moduleId, name) };
    case 'page': {
      const permission = typeof args.permission === 'string' ? permissionName(moduleId, args.permission) : undefined;
      return { page: pageNames(name), permission };
    }
    default:
      throw new GenerateUsageError(`Unknown kind "${kind}": use entity, migration, permission or page.`);
  }
}

/** The plugin id, read from `meta: { id: '…' }` in plugin/index.ts without running the module's code. */
export function readModuleId(moduleDir: string): string {
  const entry = path.join(moduleDir, 'plugin', 'index.ts');
  if (!fs.existsSync(entry)) {
    throw new GenerateUsageError(`${moduleDir} is not a module (no plugin/index.ts). Run this inside a module made by create-foundation-module, or pass --cwd <module dir>.`);
  }
  const match = /meta:\s*\{[^}]*\bid:\s*['"]([^'"]+)['"]/.exec(fs.readFileSync(entry, 'utf8'));
  if (!match) throw new NameError(`plugin/index.ts has no \`meta: { id: '…' }\` the generator can read; restore it.`);
  return match[1]!;
}
