/**
 * `foundation-module <command>`: every command, each in its own file in commands/ and parsing
 * its own flags; run.ts dispatches and turns errors into messages and exit codes (errors.ts).
 * A command's code loads only when it runs, so `--help` and a short command start at once.
 */
import { KIT_PACKAGE } from '../sandbox/kit-files.ts';
import { runProgram } from './run.ts';

const KIT_VERSION = KIT_PACKAGE.version;

export const HELP = `foundation-module [--actor <name>] <command> [options]

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
  roles <diff|apply|decline> <plugin>
                       A plugin's role templates against the tenants' roles (foundation-module roles --help)
  test [vitest options…]
                       The module's type check and its tests, side by side (npm test runs it;
                       foundation-module test --help)
  vendor <module dir> --into <foundation root>
                       Place a module in a foundation, with its adapter and dependencies
                       (foundation-module vendor --help)

Options:
  --actor <name>       Who acts, for the audit log (before the command; default
                       FOUNDATION_ACTOR, else the operating system's user)
  -h, --help           Show this help
`;

await runProgram({
  help: HELP,
  commands: {
    dev: async (argv) => (await import('./commands/dev.ts')).devCommand(argv),
    generate: async (argv) => (await import('./commands/generate.ts')).generateCommand(argv),
    migrate: async (argv) => (await import('./commands/migrate.ts')).migrateCommand(argv),
    tenants: async (argv) => (await import('./commands/tenants.ts')).tenantsCommand(argv, KIT_VERSION),
    plugins: async (argv) => (await import('./commands/plugins.ts')).pluginsCommand(argv, KIT_VERSION),
    roles: async (argv) => (await import('./commands/roles.ts')).rolesCommand(argv),
    test: async (argv) => (await import('./commands/test.ts')).testCommand(argv),
    vendor: async (argv) => (await import('./commands/vendor.ts')).vendorCommand(argv, KIT_VERSION),
  },
}, process.argv.slice(2));
