/**
 * `foundation-module <command>`: every command, each in its own file in commands/ and parsing
 * its own flags; run.ts dispatches and turns errors into messages and exit codes (errors.ts).
 */
import { createRequire } from 'node:module';
import { devCommand } from './commands/dev.ts';
import { generateCommand } from './commands/generate.ts';
import { migrateCommand } from './commands/migrate.ts';
import { pluginsCommand } from './commands/plugins.ts';
import { tenantsCommand } from './commands/tenants.ts';
import { vendorCommand } from './commands/vendor.ts';
import { runProgram } from './run.ts';

const KIT_VERSION: string = createRequire(import.meta.url)('../package.json').version;

export const HELP = `foundation-module <command> [options]

Commands:
  dev [module dirs…]   Run the sandbox API and the Vite shell together, on the embedded
                       PostgreSQL (or DATABASE_URL). Default module: the current directory;
                       in the kit's own repository, every module under examples/.
    --port <n>         Shell port (default 5173, or a free one if taken)
    --api-port <n>     API port (default 3000, or a free one if taken)
    --sandbox-dir <d>  Where the embedded database keeps its data (default ./.sandbox)
  generate <kind> <name>
                       Add an entity, migration, permission or page to the module in the
                       current folder (foundation-module generate --help for the kinds)
  migrate <status|validate|up|down> [module dirs…]
                       Apply the modules' migrations to public and every tenant schema, in
                       parallel, resumable (foundation-module migrate --help for the options)
  tenants <create|list|drop>
                       Create, list and drop tenants (foundation-module tenants --help)
  plugins <list|enable|disable|uninstall|config>
                       Switch modules on and off, per tenant or globally (foundation-module plugins --help)
  vendor <module dir> --into <foundation root>
                       Place a module in a foundation, with its adapter and dependencies
                       (foundation-module vendor --help)

Options:
  -h, --help           Show this help
`;

await runProgram({
  help: HELP,
  commands: {
    dev: devCommand,
    generate: generateCommand,
    migrate: migrateCommand,
    tenants: (argv) => tenantsCommand(argv, KIT_VERSION),
    plugins: (argv) => pluginsCommand(argv, KIT_VERSION),
    vendor: (argv) => vendorCommand(argv, KIT_VERSION),
  },
}, process.argv.slice(2));
