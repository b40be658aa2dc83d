/**
 * Run by catalog.ts in a process of its own, with the kit's TypeScript loader (packages the module
 * lacks stubbed: missing-package-stubs.ts): loads one module's code and prints its
 * catalog as JSON, or `{ "error": … }` and exit 1. The caller never holds the module's code, so it
 * reads the catalog as the folder is now, whatever version of it it read before.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPlugins } from './loader.ts';
import { stubbedPackages } from './missing-package-stubs.ts';

try {
  const [plugin] = await loadPlugins([process.argv[2]!]);
  const { meta, permissions, roleTemplates, configSchemas, dir } = plugin!;
  // Already loaded by loadPlugins (ESM caches it): its data, as vendoring writes it for a server-only host.
  const configFile = path.join(dir, 'module.config.ts');
  const moduleConfig = fs.existsSync(configFile) ? (await import(pathToFileURL(configFile).href)).default : undefined;
  process.stdout.write(JSON.stringify({
    id: meta.id, version: meta.version, api: meta.api, permissions, roleTemplates,
    configSchema: configSchemas.tenant?.source, globalConfigSchema: configSchemas.global?.source,
    moduleConfig,
  }));
} catch (error) {
  const stubbed = stubbedPackages();
  const stood = stubbed.length ? ` (read where ${stubbed.join(', ')} ${stubbed.length > 1 ? 'are' : 'is'} not installed, with stand-ins: if the module computes what is named here with ${stubbed.length > 1 ? 'them' : 'it'}, run npm install in it first)` : '';
  process.stdout.write(JSON.stringify({ error: `${(error as Error).message.replace(/\.?\s*$/, '')}${stood}` }));
  process.exitCode = 1;
}
