/**
 * A module's catalog, what the registries record of it besides its migrations: its permissions
 * and role templates, and the configuration schemas that `plugins config` checks values with. They are computed by its code (`export const permissions`, module.config.ts),
 * so an operator command reads them by loading that code in a child process, with the kit's
 * TypeScript loader. Where the code can't load (a foundation that runs modules it can't import
 * from a shell, or keeps only their built JavaScript), an operator writes the catalog as
 * `module.manifest.json` in the module folder: when that file is there, it is the catalog.
 */
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Ajv } from 'ajv';
import { kitEntry, typescriptLoaderArgs } from '../kit-files.ts';
import { permissionProblem, pluginIdProblem } from '../../rules/index.ts';
import { checkPlugin, PluginLoadError, type RoleTemplate } from './loader.ts';

export interface ModuleCatalog {
  id: string;
  version: string;
  permissions: string[];
  roleTemplates: RoleTemplate[];
  /** module.config.ts `configSchema` (tenant configuration), when declared. */
  configSchema?: Record<string, unknown>;
  /** module.config.ts `globalConfigSchema`, when declared. */
  globalConfigSchema?: Record<string, unknown>;
  /** The contract version it needs (`meta.api`); read from code only. */
  api?: string;
  /** module.config.ts's default export as data (functions left out); read from code only. */
  moduleConfig?: Record<string, unknown>;
  /** Where it was read: the module's code, or its manifest file. */
  source: 'code' | 'manifest';
}

/** The file a module's catalog is kept in where its code can't be loaded. */
export const MODULE_MANIFEST = 'module.manifest.json';

export class ModuleCatalogError extends Error {
  override name = 'ModuleCatalogError';
}

/**
 * The catalog of the module in `dir`: its manifest when it has one, else what its code says, else
 * undefined (no manifest, and no plugin/index.ts). A module whose code loads but is invalid, or whose
 * manifest is malformed, throws: recording a wrong catalog is worse than none.
 */
export async function readModuleCatalog(dir: string): Promise<ModuleCatalog | undefined> {
  const manifest = readModuleManifest(dir);
  if (manifest) return manifest;
  if (fs.existsSync(path.join(dir, 'plugin', 'index.ts'))) return { ...(await catalogFromCode(path.resolve(dir))), source: 'code' };
  return undefined;
}

/** Loads the module in a process of its own (print-catalog.ts). */
function catalogFromCode(dir: string): Promise<Omit<ModuleCatalog, 'source'>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...typescriptLoaderArgs(), kitEntry('sandbox/plugins/print-catalog'), dir], { cwd: dir, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '', FOUNDATION_STUB_MISSING_PACKAGES: '1' } },
      (error, stdout, stderr) => {
        let printed: (Omit<ModuleCatalog, 'source'> & { error?: undefined }) | { error: string } | undefined;
        try {
          printed = JSON.parse(stdout);
        } catch {
          printed = undefined;
        }
        if (printed?.error !== undefined) return reject(new ModuleCatalogError(printed.error));
        if (error || !printed) return reject(new ModuleCatalogError(`Module ${dir}: its code could not be loaded to read its permissions: ${(stderr || error?.message || 'no output').trim()}`));
        resolve(printed as Omit<ModuleCatalog, 'source'>);
      });
  });
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
    configSchema: { type: 'object' },
    globalConfigSchema: { type: 'object' },
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
  // The same checks as for code: one list of permissions, templates granting only declared ones, schemas ajv compiles.
  try {
    checkPlugin({ default: { meta: { id: parsed.id, version: parsed.version, api: '1.x' }, register() {} }, permissions: parsed.permissions },
      { roleTemplates: parsed.roleTemplates, configSchema: parsed.configSchema, globalConfigSchema: parsed.globalConfigSchema }, dir);
  } catch (error) {
    if (error instanceof PluginLoadError) throw new ModuleCatalogError(`${file}: ${error.message}`);
    throw error;
  }
  return { ...parsed, permissions: [...new Set(parsed.permissions)], source: 'manifest' };
}
