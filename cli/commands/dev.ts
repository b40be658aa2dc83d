/**
 * `foundation-module dev`: the sandbox API and the Vite shell as two processes under
 * concurrently, with prefixed output. If either process dies, the other is stopped too; Ctrl-C
 * (or SIGTERM) stops both.
 *
 * The files behind it, for "how does dev restart the API?":
 *   commands/dev.ts        this: module folders, ports, the two processes
 *   dev/api-supervisor.ts  the [api] process: the embedded PostgreSQL, the API as its child, restarts
 *   dev/api-process.ts     one run of the API (sandbox/server.ts): load, go, ready, graceful stop
 *   dev/module-watcher.ts  which module files trigger a restart
 */
import { concurrently } from 'concurrently';
import mri from 'mri';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickPort } from '../../sandbox/free-port.ts';
import { UsageError } from '../errors.ts';
import { resolveModuleDirs } from '../module-dirs.ts';

const require = createRequire(import.meta.url);
const KIT_ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');

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
  // Commands run from the kit's root with relative paths, so no command ends in a quoted
  // argument: concurrently strips quotes that open and close a whole command.
  const node = quote(process.execPath);
  const viteBin = quote(path.relative(KIT_ROOT, path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js')));

  console.log(`foundation-module dev: ${dirs.map((d) => path.relative(cwd, d) || '.').join(', ')}`);
  console.log(`  Shell  http://127.0.0.1:${shellPort}/`);
  console.log(`  API    ${apiUrl}/`);
  console.log('  (the API prints the psql connection string when the database is up, and restarts when a module\'s');
  console.log('   plugin/, shared/, migrations/ or module.config.ts changes; Ctrl-C stops everything)\n');

  const { result } = concurrently([
    { name: 'api', command: `${node} --import tsx/esm cli/dev/api-supervisor.ts`, env, cwd: KIT_ROOT, prefixColor: 'cyan' },
    { name: 'shell', command: `${node} ${viteBin} --config client/vite.config.ts --clearScreen false`, env, cwd: KIT_ROOT, prefixColor: 'magenta' },
  ], { killOthersOn: ['failure', 'success'], prefix: 'name', handleInput: false });

  let interrupted = false;
  process.once('SIGINT', () => (interrupted = true));
  process.once('SIGTERM', () => (interrupted = true));
  return result.then(() => 0, () => (interrupted ? 0 : 1));
}


/** Quotes one argument for the shell that concurrently runs commands in, only when it needs it. */
function quote(arg: string): string {
  if (/^[\w/.:=@+-]+$/.test(arg)) return arg;
  if (process.platform === 'win32') return `"${arg.replaceAll('"', '\\"')}"`;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}
