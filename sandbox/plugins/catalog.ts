/**
 * A module's catalog, what the registries record of it besides its migrations: its permissions
 * and role templates. They are computed by its code (`export const permissions`, module.config.ts),
 * so an operator command reads them by loading that code when this process can run TypeScript
 * (tsx in this process, or installed beside the module or the current folder), else from
 * `module.manifest.json` in the module folder, written where the code could run (by `vendor`).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { permissionProblem, pluginIdProblem } from '../../rules/index.ts';
import { checkPlugin, loadPlugins, PluginLoadError, type RoleTemplate } from './loader.ts';

export interface ModuleCatalog {
  id: string;
  version: string;
  permissions: string[];
  roleTemplates: RoleTemplate[];
  /** Where it was read: the module's code, or its manifest file. */
  source: 'code' | 'manifest';
}

/** The file a module's catalog is kept in where its code can't be loaded. */
export const MODULE_MANIFEST = 'module.manifest.json';

export class ModuleCatalogError extends Error {
  override name = 'ModuleCatalogError';
}

/**
 * The catalog of the module in `dir`, or undefined when neither its code can be loaded here (no
 * TypeScript loader) nor a manifest is there. A module whose code loads but is invalid, or whose
 * manifest is malformed or of another version, throws: recording a wrong catalog is worse than none.
 */
export async function readModuleCatalog(dir: string, { cwd = process.cwd() } = {}): Promise<ModuleCatalog | undefined> {
  if (await canLoadTypeScript(dir, cwd)) {
    const [plugin] = await loadPlugins([dir]);
    return { id: plugin!.meta.id, version: plugin!.meta.version, permissions: plugin!.permissions, roleTemplates: plugin!.roleTemplates, source: 'code' };
  }
  return readModuleManifest(dir);
}

const ajv = new Ajv({ allErrors: true });
const checkManifest = ajv.compile<Omit<ModuleCatalog, 'source'>>({
  type: 'object',
  required: ['id', 'version', 'permissions'],
  properties: {
    id: { type: 'string' },
    version: { type: 'string' },
    permissions: { type: 'array', items: { type: 'string' } },
    roleTemplates: {
      type: 'array',
      items: {
        type: 'object', required: ['key', 'displayName', 'permissions'],
        properties: { key: { type: 'string' }, displayName: { type: 'string' }, permissions: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
});

/** The catalog kept in `module.manifest.json`, checked as code is; undefined when there is no such file. */
export function readModuleManifest(dir: string): ModuleCatalog | undefined {
  const file = path.join(dir, MODULE_MANIFEST);
  if (!fs.existsSync(file)) return undefined;
  const invalid = (detail: string) => new ModuleCatalogError(`${file} is not a module manifest (${detail}). Write it again where the module's code loads (tsx installed).`);
  let content: unknown;
  try {
    content = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw invalid((error as Error).message);
  }
  if (!checkManifest(content)) {
    throw invalid(checkManifest.errors!.map((e) => `${e.instancePath.slice(1).replaceAll('/', '.') || '(root)'}: ${e.message}`).join('; '));
  }
  const parsed = { ...content, roleTemplates: content.roleTemplates ?? [] };
  const idProblem = pluginIdProblem(parsed.id);
  if (idProblem) throw new ModuleCatalogError(`${file}: meta.id ${JSON.stringify(parsed.id)} ${idProblem}.`);
  for (const permission of parsed.permissions) {
    const problem = permissionProblem(parsed.id, permission);
    if (problem) throw new ModuleCatalogError(`${file}: permission ${JSON.stringify(permission)} ${problem}.`);
  }
  // The same checks as for code: one list of permissions, templates granting only declared ones.
  try {
    checkPlugin({ default: { meta: { id: parsed.id, version: parsed.version, api: '1.x' }, register() {} }, permissions: parsed.permissions },
      { roleTemplates: parsed.roleTemplates }, dir);
  } catch (error) {
    if (error instanceof PluginLoadError) throw new ModuleCatalogError(`${file}: ${error.message}`);
    throw error;
  }
  return { ...parsed, permissions: [...new Set(parsed.permissions)], source: 'manifest' };
}

/**
 * Whether `import('….ts')` works in this process: already (tsx registered, as when the kit runs
 * from its source), or once tsx, found beside the module or in the current folder, is registered.
 */
async function canLoadTypeScript(dir: string, cwd: string): Promise<boolean> {
  if (typeScriptLoads) return true;
  try {
    await import(pathToFileURL(PROBE).href);
    return (typeScriptLoads = true);
  } catch {
    // no loader yet
  }
  for (const from of [dir, cwd]) {
    let api: string;
    try {
      api = createRequire(path.join(path.resolve(from), 'noop.js')).resolve('tsx/esm/api');
    } catch {
      continue;
    }
    const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
    register();
    return (typeScriptLoads = true);
  }
  return false;
}

let typeScriptLoads = false;
/** A TypeScript file of the kit with no imports: it loads exactly when TypeScript does. */
const PROBE = new URL('./typescript-probe.ts', import.meta.url).pathname;
