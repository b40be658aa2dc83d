/**
 * Vite config of the dev shell. Used two ways:
 *   - `foundation-module dev` (client/serve.ts), or `vite --config client/vite.config.ts` in the
 *     kit's checkout, options read from the environment
 *     (FOUNDATION_MODULE_DIRS, FOUNDATION_API_URL, FOUNDATION_SHELL_PORT);
 *   - code: `createServer(shellConfig({ moduleDirs }))` or `build(shellConfig(…))`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type InlineConfig, type ProxyOptions } from 'vite';
import { KIT_ROOT, SHELL_ROOT } from '../sandbox/kit-files.ts';
import { assertModuleDir, foundationModules, MANIFEST_FILE, moduleClientAlias } from './vite-plugin-modules.ts';

const repoRoot = KIT_ROOT;

export interface ShellOptions {
  /**
   * Absolute directories of the modules whose `client/manifest.ts` the shell renders.
   * @default every directory in `<repo>/examples/` that has a `client/manifest.ts`
   */
  moduleDirs?: readonly string[];
  /**
   * Where the sandbox API listens; `/api` and `/health` are proxied there.
   * @default 'http://127.0.0.1:3000'
   */
  apiUrl?: string;
  /**
   * Port of the shell's dev server (on 127.0.0.1; taken port = error, never another port).
   * @default 5173
   */
  port?: number;
  /**
   * Output directory of `build()`.
   * @default '<kit>/dist/shell-build'
   */
  outDir?: string;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';
export const DEFAULT_SHELL_PORT = 5173;

/** The example modules of this repository: the default when no module dirs are given. */
export function exampleModuleDirs(): string[] {
  const examples = path.join(repoRoot, 'examples');
  if (!existsSync(examples)) return [];
  return readdirSync(examples, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(examples, entry.name))
    .filter((dir) => existsSync(path.join(dir, MANIFEST_FILE)))
    .sort();
}

/** The full Vite config of the shell, ready for `createServer`, `build` or `preview`. */
export function shellConfig({
  moduleDirs = exampleModuleDirs(),
  apiUrl = DEFAULT_API_URL,
  port = DEFAULT_SHELL_PORT,
  outDir = path.join(repoRoot, 'dist', 'shell-build'),
}: ShellOptions = {}): InlineConfig {
  moduleDirs.forEach(assertModuleDir);
  const apiProxy = apiProxyTo(apiUrl);

  return {
    configFile: false,
    root: SHELL_ROOT,
    cacheDir: cacheDirFor(moduleDirs),
    plugins: [react(), foundationModules(moduleDirs), moduleClientAlias(moduleDirs)],
    resolve: {
      // Modules may live outside this package, with (or without) their own node_modules:
      // one copy of React and the router for everyone, or hooks and contexts break.
      dedupe: ['react', 'react-dom', 'react-router', 'react-router-dom'],
    },
    define: {
      'import.meta.env.FOUNDATION_API_URL': JSON.stringify(apiUrl),
    },
    server: {
      host: '127.0.0.1',
      port,
      strictPort: true,
      proxy: { '/api': apiProxy, '/health': apiProxy },
      // Setting `allow` replaces Vite's default (the workspace root), so the repo goes back in.
      fs: { allow: [repoRoot, ...moduleDirs] },
    },
    preview: { host: '127.0.0.1', proxy: { '/api': apiProxy, '/health': apiProxy } },
    build: { outDir, emptyOutDir: true },
  };
}

/**
 * Vite's dependency cache goes to the first module's node_modules when it has one (a generated
 * module), not into the installed kit, which may be read-only or shared (pnpm's store).
 */
function cacheDirFor(moduleDirs: readonly string[]): string | undefined {
  const own = moduleDirs[0] && path.join(moduleDirs[0], 'node_modules');
  return own && existsSync(own) ? path.join(own, '.vite', 'foundation-shell') : undefined;
}

/**
 * Proxy to the API. When the API is down, answer with the API's own error envelope so the shell
 * and module pages show one readable message instead of an empty 502.
 */
function apiProxyTo(apiUrl: string): ProxyOptions {
  return {
    target: apiUrl,
    changeOrigin: true,
    configure(proxy) {
      proxy.on('error', (_err, _req, res) => {
        if (!('writeHead' in res) || res.headersSent) return;
        const message = `API not reachable at ${apiUrl}: is \`npm run dev\` running?`;
        res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'API_UNREACHABLE', message } }));
      });
    },
  };
}

/** Reads the shell options from the environment variables named at the top of this file. */
export function shellOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ShellOptions {
  const options: ShellOptions = {};
  if (env.FOUNDATION_MODULE_DIRS) options.moduleDirs = parseModuleDirs(env.FOUNDATION_MODULE_DIRS);
  if (env.FOUNDATION_API_URL) options.apiUrl = env.FOUNDATION_API_URL;
  if (env.FOUNDATION_SHELL_PORT) options.port = parsePort(env.FOUNDATION_SHELL_PORT);
  return options;
}

function parseModuleDirs(json: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`FOUNDATION_MODULE_DIRS must be a JSON array of absolute paths, got: ${json}`);
  }
  if (!Array.isArray(value)) {
    throw new Error(`FOUNDATION_MODULE_DIRS must be a JSON array of absolute paths, got: ${json}`);
  }
  value.forEach(assertModuleDir);
  return value as string[];
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`FOUNDATION_SHELL_PORT must be a port number (1-65535), got: ${text}`);
  }
  return port;
}

export default defineConfig(() => {
  // `configFile: false` only matters to the programmatic API; here Vite already has its file.
  const { configFile: _, ...config } = shellConfig(shellOptionsFromEnv());
  return config;
});
