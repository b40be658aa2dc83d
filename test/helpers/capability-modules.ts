/**
 * Throw-away modules for the tests of PluginContext's capabilities: a fixture module (see
 * migration-fixtures.ts) whose `plugin/index.ts` is the test's own code, with an optional
 * module.config.ts and migrations, and a pino logger whose lines a test can read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../sandbox/logger.ts';
import { fixtureModule } from './migration-fixtures.ts';

export interface CapabilityModule {
  /** Body of `plugin/index.ts` after its imports (`sql` from drizzle-orm, the contract's types): must `export default` the plugin. */
  plugin: string;
  /** Extra fields of module.config.ts's default export, as TypeScript source (`configSchema: {…}`). */
  config?: string;
  /** Migration files, as for fixtureModule (`tenant/001_init.sql` → SQL). */
  migrations?: Record<string, string>;
}

const made: string[] = [];

export function capabilityModule(id: string, { plugin, config, migrations = {} }: CapabilityModule): string {
  const dir = fixtureModule(id, migrations);
  made.push(dir);
  fs.writeFileSync(path.join(dir, 'plugin', 'index.ts'),
    `import { sql } from 'drizzle-orm';\nimport type { FoundationPlugin, PluginContext } from 'create-foundation-module/contract';\nvoid sql;\n${plugin}\n`);
  if (config !== undefined) {
    fs.writeFileSync(path.join(dir, 'module.config.ts'), `import plugin from './plugin/index.ts';\nexport default { ...plugin.meta, name: '${id}', permissions: [], ${config} };\n`);
  }
  return dir;
}

/** Removes every module this file made (call in afterAll). */
export function removeCapabilityModules(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface CapturedLogger {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines: () => Record<string, unknown>[];
}

/** A pino logger at `level` that keeps its lines in memory. */
export function capturedLogger(level = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level, base: { service: 'sandbox' } }, stream), lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** module.config.ts fields of the `prefs` module the configuration tests share: both levels' schemas, with defaults. */
export const PREFS_SCHEMAS = `
  configSchema: {
    type: 'object',
    properties: {
      pageSize: { type: 'integer', minimum: 1, maximum: 500, default: 20 },
      colour: { type: 'string', enum: ['red', 'blue'] },
      limits: { type: 'object', properties: { max: { type: 'integer', default: 3 } }, additionalProperties: false, default: {} },
      tags: { type: 'array', items: { type: 'string', maxLength: 10 } },
    },
    additionalProperties: false,
  },
  globalConfigSchema: { type: 'object', properties: { banner: { type: 'string', maxLength: 200, default: 'Welcome' } }, additionalProperties: false },`;
