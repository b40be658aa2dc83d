/**
 * The operator commands, for a foundation that never installed the kit's dev stack: bundled by
 * scripts/build.mjs into dist/operator.js with their dependencies inside (pg, the SQL splitter,
 * the progress bar), so `npx -p create-foundation-module foundation-module migrate …` needs only
 * Node and the kit package. bin/foundation-module.js runs it when tsx (the dev stack) is absent.
 */
import { createRequire } from 'node:module';
import { migrateCommand } from './commands/migrate.ts';
import { pluginsCommand } from './commands/plugins.ts';
import { tenantsCommand } from './commands/tenants.ts';
import { vendorCommand } from './commands/vendor.ts';
import { runProgram } from './run.ts';

const KIT_VERSION: string = createRequire(import.meta.url)('../package.json').version;

const HELP = `foundation-module <command> [options]   (operator commands; the dev stack is not installed)

Commands:
  migrate <status|validate|up|down> [module dirs…]   foundation-module migrate --help
  tenants <create|list|drop>                         foundation-module tenants --help
  plugins <list|enable|disable|uninstall|config>     foundation-module plugins --help
  vendor <module dir> --into <foundation root>       foundation-module vendor --help

Give the database with --database-url or DATABASE_URL: without the dev stack there is no
embedded PostgreSQL.
`;

const DEV_STACK = 'needs the kit\'s dev stack (tsx, Vite, the embedded PostgreSQL), which is not installed here: run it inside a module made by create-foundation-module, after `npm install`.';

await runProgram({
  help: HELP,
  commands: {
    migrate: migrateCommand,
    tenants: (argv) => tenantsCommand(argv, KIT_VERSION),
    plugins: (argv) => pluginsCommand(argv, KIT_VERSION),
    vendor: (argv) => vendorCommand(argv, KIT_VERSION),
  },
  unavailable: { dev: `\`dev\` ${DEV_STACK}`, generate: `\`generate\` ${DEV_STACK}` },
}, process.argv.slice(2));
