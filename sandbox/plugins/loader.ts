/**
 * Loads modules from their directories and checks each against contract 1.x before anything
 * else happens, so a bad plugin is refused at start-up with a message naming module and field.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { contractApiProblem, type FoundationPlugin, type PluginMeta } from '../contract.ts';
import { SandboxStartError } from '../errors.ts';
import { permissionProblem, pluginIdProblem } from '../../rules/index.ts';
import { compileConfigSchema, ConfigSchemaError, SCHEMA_FIELD, type ConfigLevel, type ConfigSchema } from './config-schema.ts';

export interface RoleTemplate {
  key: string;
  displayName: string;
  permissions: string[];
}

export interface LoadedPlugin {
  meta: PluginMeta;
  plugin: FoundationPlugin;
  /** The module's declared permissions, all namespaced by `meta.id`. */
  permissions: string[];
  roleTemplates: RoleTemplate[];
  /** Display name from module.config.ts, else the id. */
  name: string;
  /** The configuration schemas module.config.ts declares (`configSchema`: tenant, `globalConfigSchema`: global). */
  configSchemas: Partial<Record<ConfigLevel, ConfigSchema>>;
  /** Absolute module directory. */
  dir: string;
}

export class PluginLoadError extends SandboxStartError {
  override name = 'PluginLoadError';
}

export async function loadPlugins(dirs: string[]): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const dir of dirs) {
    const absolute = path.resolve(dir);
    const entry = path.join(absolute, 'plugin', 'index.ts');
    if (!fs.existsSync(entry)) {
      throw new PluginLoadError(`Module ${dir}: no plugin/index.ts found. A module directory holds plugin/index.ts, module.config.ts and migrations/.`);
    }
    const pluginModule = await importModule(entry, dir);
    const configFile = path.join(absolute, 'module.config.ts');
    const configModule = fs.existsSync(configFile) ? await importModule(configFile, dir) : undefined;
    const plugin = checkPlugin(pluginModule, configModule?.default, absolute);
    const clash = loaded.find((other) => other.meta.id === plugin.meta.id);
    if (clash) {
      throw new PluginLoadError(`Modules ${clash.dir} and ${absolute} both declare meta.id "${plugin.meta.id}": plugin ids must be unique.`);
    }
    loaded.push(plugin);
  }
  return loaded;
}

async function importModule(file: string, dir: string): Promise<Record<string, unknown>> {
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    throw new PluginLoadError(`Module ${dir}: ${path.basename(file)} failed to load: ${(error as Error).message}`, { cause: error });
  }
}

/** Checks a loaded `plugin/index.ts` (and optional module.config.ts default export) against contract 1.x. */
export function checkPlugin(pluginModule: Record<string, unknown>, config: unknown, dir: string): LoadedPlugin {
  const fail = (field: string, problem: string): never => {
    throw new PluginLoadError(`Module ${dir}: ${field} ${problem}.`);
  };
  const plugin = pluginModule.default as Partial<FoundationPlugin> | undefined;
  if (!plugin || typeof plugin !== 'object') fail('plugin/index.ts', 'must export default { meta, register }');
  const meta = plugin!.meta as Partial<PluginMeta> | undefined;
  if (!meta || typeof meta !== 'object') fail('meta', 'is missing: export default { meta: { id, version, api: \'1.x\' }, register }');
  const idProblem = pluginIdProblem(meta!.id);
  if (idProblem) fail(`meta.id ${JSON.stringify(meta!.id)}`, idProblem);
  const id = meta!.id!;
  if (typeof meta!.version !== 'string' || !semver.valid(meta!.version)) {
    fail(`meta.version ${JSON.stringify(meta!.version)} of plugin "${id}"`, 'must be a semver version such as "1.0.0"');
  }
  const apiProblem = contractApiProblem(meta!.api, id);
  if (apiProblem) throw new PluginLoadError(`Module ${dir}: ${apiProblem}.`);
  if (typeof plugin!.register !== 'function') fail(`register of plugin "${id}"`, 'is missing: export default { meta, async register(ctx) { … } }');

  const permissions = pluginModule.permissions ?? [];
  if (!Array.isArray(permissions)) fail(`export const permissions of plugin "${id}"`, 'must be an array of strings');
  for (const permission of permissions as unknown[]) {
    const problem = permissionProblem(id, permission);
    if (problem) fail(`permission ${JSON.stringify(permission)} of plugin "${id}"`, problem);
  }
  const declared = [...new Set(permissions as string[])];
  const { name, roleTemplates, configSchemas } = checkConfig(config, id, declared, fail);
  return { meta: meta as PluginMeta, plugin: plugin as FoundationPlugin, permissions: declared, roleTemplates, name, configSchemas, dir };
}

type ModuleConfigCheck = Pick<LoadedPlugin, 'name' | 'roleTemplates' | 'configSchemas'>;

function checkConfig(config: unknown, id: string, declared: string[], fail: (field: string, problem: string) => never): ModuleConfigCheck {
  if (config === undefined) return { name: id, roleTemplates: [], configSchemas: {} };
  const c = config as { id?: unknown; name?: unknown; permissions?: unknown; roleTemplates?: unknown } & Record<string, unknown>;
  if (c.id !== undefined && c.id !== id) fail(`module.config.ts id ${JSON.stringify(c.id)}`, `must equal the plugin's meta.id "${id}"`);
  if (c.permissions !== undefined) {
    const listed = Array.isArray(c.permissions) ? [...new Set(c.permissions as string[])].sort() : [];
    if (JSON.stringify(listed) !== JSON.stringify([...declared].sort())) {
      fail('module.config.ts permissions', `differ from plugin/index.ts's exported permissions; import them from there so there is one list`);
    }
  }
  const templates = (c.roleTemplates ?? []) as RoleTemplate[];
  if (!Array.isArray(templates)) fail('module.config.ts roleTemplates', 'must be an array');
  for (const template of templates) {
    if (!template || typeof template.key !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(template.key)) {
      fail(`module.config.ts roleTemplates key ${JSON.stringify(template?.key)}`, 'must be UPPER_SNAKE_CASE');
    }
    if (typeof template.displayName !== 'string' || !template.displayName.trim()) {
      fail(`role template ${template.key} displayName`, 'must be a non-empty string');
    }
    if (!Array.isArray(template.permissions)) fail(`role template ${template.key} permissions`, 'must be an array of permissions');
    for (const permission of template.permissions) {
      if (!declared.includes(permission)) fail(`role template ${template.key}`, `grants "${permission}", which plugin "${id}" does not declare`);
    }
  }
  const configSchemas: ModuleConfigCheck['configSchemas'] = {};
  for (const level of ['tenant', 'global'] as const) {
    const field = SCHEMA_FIELD[level];
    if (c[field] === undefined) continue;
    try {
      configSchemas[level] = compileConfigSchema(c[field], field);
    } catch (error) {
      if (error instanceof ConfigSchemaError) fail(`module.config.ts ${field} of plugin "${id}"`, error.problem);
      throw error;
    }
  }
  return { name: typeof c.name === 'string' ? c.name : id, roleTemplates: templates, configSchemas };
}
