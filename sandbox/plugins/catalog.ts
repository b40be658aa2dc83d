/**
 * A module's catalog, what the registries record of it besides its migrations: its permissions
 * and role templates, and the configuration schemas that `plugins config` checks values with. They are computed by its code (`export const permissions`, module.config.ts),
 * so an operator command reads them by loading that code in a child process, with tsx (the kit's
 * own from its source, or one installed beside the module or in the current folder), else from
 * `module.manifest.json` in the module folder, written where the code could run.
 */
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
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
 * The catalog of the module in `dir`, or undefined when neither its code can be loaded here (no
 * tsx to be found) nor a manifest is there. A module whose code loads but is invalid, or whose
 * manifest is malformed, throws: recording a wrong catalog is worse than none.
 */
export async function readModuleCatalog(dir: string, { cwd = process.cwd() } = {}): Promise<ModuleCatalog | undefined> {
  const tsxHome = [dir, cwd, KIT_ROOT].find((from) => resolvesTsx(from));
  if (tsxHome) return { ...(await catalogFromCode(path.resolve(dir), tsxHome)), source: 'code' };
  return readModuleManifest(dir);
}

/** The kit's own folder when it runs from its TypeScript source (its dev stack has tsx); none in the bundle. */
const KIT_ROOT = import.meta.url.endsWith('.ts') ? fileURLToPath(new URL('../../', import.meta.url)) : undefined;
/** The catalog printer: its source with tsx, else the bundle's build of it. */
const PRINTER = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './print-catalog.ts' : './print-catalog.js', import.meta.url));

function resolvesTsx(from: string | undefined): from is string {
  if (!from) return false;
  try {
    createRequire(path.join(path.resolve(from), 'noop.js')).resolve('tsx');
    return true;
  } catch {
    return false;
  }
}

/** Loads the module in a process of its own (print-catalog.ts), with the tsx found in `tsxHome`. */
function catalogFromCode(dir: string, tsxHome: string): Promise<Omit<ModuleCatalog, 'source'>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', PRINTER, dir], { cwd: path.resolve(tsxHome), maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } },
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
