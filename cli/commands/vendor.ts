/**
 * `foundation-module vendor <module dir> --into <foundation root> [--dry-run] [--force]`: places
 * the module in the foundation (vendor/plan.ts decides, vendor/apply.ts writes). See docs/vendoring.md.
 */
import { createPatch } from 'diff';
import mri from 'mri';
import { applyVendoring, conflictsOf } from '../../vendor/apply.ts';
import { planVendoring, VendorError, type FileAction } from '../../vendor/plan.ts';
import { BINDINGS_FILE, VendorLayoutError } from '../../vendor/layout.ts';
import { CliError, UsageError } from '../errors.ts';
import { singleFlagValue } from '../flag-values.ts';

export const VENDOR_HELP = `Usage: foundation-module vendor <module dir> --into <foundation root> [--dry-run] [--force] [--client | --no-client]

Places the module in the foundation: src/modules/<id>/ (plugin, shared schema, migrations, a
server-safe module.config.ts, server/routes/index.ts, the adapter the route registry mounts, and,
for a foundation with React, the client manifest and pages), the kit's library in src/lib/foundation-module/, and, the first time, the
foundation's bindings file (src/lib/foundation-module/bindings.ts), which is yours to edit. The
module's run-time dependencies are merged into the foundation's package.json.

Vendoring again updates the files the foundation has not touched, and refuses to overwrite files
edited there (listing them) unless --force.

Options:
  --into <dir>    the foundation's root folder (with package.json and src/)
  --dry-run       print CREATE / UPDATE / SKIP / CONFLICT / DELETE with diffs; write nothing
  --force         overwrite files edited in the foundation; keep its version of a conflicting dependency
  --client        place the module's client code (client/) even though the foundation has no React
  --no-client     leave it out even though the foundation has React

Exit codes: 0 done, 1 refused (conflicts, not a module, not a foundation, id taken), 2 usage.
`;

const STRINGS = ['into'];
const BOOLEANS = ['dry-run', 'force', 'help'];
/** Given or not: its default comes from the foundation. */
const TRI_STATE = ['client'];

export interface VendorIo {
  write?: (line: string) => void;
}

export async function vendorCommand(argv: string[], kitVersion: string, { write = (line: string) => console.log(line) }: VendorIo = {}): Promise<number> {
  const args = mri([...argv], { boolean: [...BOOLEANS], string: [...STRINGS], alias: { h: 'help' } });
  const unknown = Object.keys(args).find((key) => key !== '_' && key !== 'h' && !STRINGS.includes(key) && !BOOLEANS.includes(key) && !TRI_STATE.includes(key));
  if (unknown) throw new UsageError(`Unknown option --${unknown}. Run foundation-module vendor --help for the options.`);
  if (args.help) {
    write(`${VENDOR_HELP}\n(create-foundation-module ${kitVersion})`);
    return 0;
  }
  const [moduleDir, ...extra] = args._.map(String);
  if (!moduleDir) throw new UsageError('Name the module folder: foundation-module vendor <module dir> --into <foundation root>.');
  if (extra.length) throw new UsageError(`One module at a time: got ${[moduleDir, ...extra].join(', ')}.`);
  const into = singleFlagValue(args, 'into');
  if (!into) throw new UsageError('Name the foundation with --into <foundation root>.');
  const client = args.client as unknown;
  if (client !== undefined && typeof client !== 'boolean') throw new UsageError('--client takes no value: give --client or --no-client, once.');

  try {
    const plan = await planVendoring({ moduleDir, into, kitVersion, client });
    if (args['dry-run']) {
      for (const file of plan.files) write(describe(file, true));
      for (const dep of plan.dependencies) write(dependencyLine(dep));
      const conflicts = conflictsOf(plan).length;
      write(`Dry run: nothing written.${conflicts ? ` ${conflicts} conflict${conflicts === 1 ? '' : 's'}: vendoring would refuse without --force.` : ''}`);
      return 0;
    }
    const result = applyVendoring(plan, { force: Boolean(args.force) });
    for (const file of plan.files) if (file.status !== 'SKIP') write(describe(file, false));
    write(`Vendored ${plan.id} ${plan.version} into ${plan.root}: ${result.written.length} written, ${result.deleted.length} deleted, ` +
      `${plan.files.filter((file) => file.status === 'SKIP').length} unchanged.`);
    for (const forced of result.forced) write(`  forced: ${forced}`);
    if (!plan.client) write(`The module's client code (client/) is left out: this foundation has no React. Vendor with --client to place it.`);
    if (result.added.length) write(`Added to package.json: ${result.added.join(', ')}. Run npm install in ${plan.root}.`);
    if (plan.files.some((file) => file.target === BINDINGS_FILE && file.status === 'CREATE')) {
      write(`Created ${BINDINGS_FILE}: point it at this foundation's tenant transaction, permission check, auth, pool and tenant table (docs/vendoring.md).`);
    }
    return 0;
  } catch (error) {
    if (error instanceof VendorError || error instanceof VendorLayoutError) throw new CliError(error.message, 1);
    throw error;
  }
}

function describe(file: FileAction, withDiff: boolean): string {
  const line = `${file.status.padEnd(8)} ${file.target}${file.reason ? `  (${file.reason})` : ''}`;
  if (!withDiff || (file.status !== 'UPDATE' && file.status !== 'CONFLICT') || file.content === undefined) return line;
  return `${line}\n${createPatch(file.target, file.current ?? '', file.content, 'in the foundation', 'vendored').split('\n').slice(2).join('\n')}`;
}

function dependencyLine(dep: { name: string; wanted: string; present?: string; kind: string }): string {
  if (dep.kind === 'add') return `ADD      dependency ${dep.name}@${dep.wanted}`;
  if (dep.kind === 'keep') return `SKIP     dependency ${dep.name} (the foundation has ${dep.present})`;
  return `CONFLICT dependency ${dep.name}: the module needs ${dep.wanted}, the foundation has ${dep.present}`;
}
