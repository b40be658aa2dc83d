/**
 * The `[shell]` process of `foundation-module dev`: Vite's dev server with the shell's config,
 * options from the environment (see vite.config.ts). Started as a script rather than through
 * Vite's CLI, so that no config file has to be found and compiled at each start.
 */
import { createServer } from 'vite';
import { shellConfig, shellOptionsFromEnv } from './vite.config.ts';

const server = await createServer({ ...shellConfig(shellOptionsFromEnv()), clearScreen: false });
await server.listen();
server.printUrls();

// A terminal's Ctrl-C arrives twice (from the terminal, and passed on by dev): one close.
let closing: Promise<void> | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    closing ??= server.close().finally(() => process.exit(0));
  });
}
