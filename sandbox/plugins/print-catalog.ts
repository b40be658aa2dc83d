/**
 * Run by catalog.ts in a process of its own, with tsx: loads one module's code and prints its
 * catalog as JSON, or `{ "error": … }` and exit 1. The caller never holds the module's code, so it
 * reads the catalog as the folder is now, whatever version of it it read before.
 */
import { loadPlugins } from './loader.ts';

try {
  const [plugin] = await loadPlugins([process.argv[2]!]);
  const { meta, permissions, roleTemplates, configSchemas } = plugin!;
  process.stdout.write(JSON.stringify({
    id: meta.id, version: meta.version, permissions, roleTemplates,
    configSchema: configSchemas.tenant?.source, globalConfigSchema: configSchemas.global?.source,
  }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message }));
  process.exitCode = 1;
}
