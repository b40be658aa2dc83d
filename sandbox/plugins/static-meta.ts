/**
 * A module's `meta` read from the text of `plugin/index.ts`, without running any of its code: the
 * migration runner and the generators need the id and version of a module whose code may not even
 * load where they run (an operator's machine, a foundation without the dev stack).
 */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { pluginIdProblem } from '../../rules/index.ts';
import { checkContractApi, CONTRACT_API, contractApiProblem } from '../contract.ts';

export interface StaticMeta {
  id: string;
  version: string;
  api: string;
  /** Absolute module directory. */
  dir: string;
}

export class ModuleMetaError extends Error {
  override name = 'ModuleMetaError';
}

const FIELD = (name: string) => new RegExp(`meta:\\s*\\{[^}]*\\b${name}:\\s*['"]([^'"]+)['"]`);

/**
 * `meta: { id: '…', version: '…', api: '…' }` of the module in `moduleDir`, checked as the loader
 * checks it: a valid id, a semver version, and a contract version this host implements (its major,
 * and a minor no newer than the host's).
 */
export function readStaticMeta(moduleDir: string): StaticMeta {
  const dir = path.resolve(moduleDir);
  const entry = path.join(dir, 'plugin', 'index.ts');
  if (!fs.existsSync(entry)) {
    throw new ModuleMetaError(`${moduleDir} is not a module (no plugin/index.ts). Name a module folder made by create-foundation-module.`);
  }
  const source = fs.readFileSync(entry, 'utf8');
  const read = (field: string) => {
    const value = FIELD(field).exec(source)?.[1];
    if (value === undefined) throw new ModuleMetaError(`${entry} has no \`meta: { ${field}: '…' }\` that can be read without running it; write it as a string literal.`);
    return value;
  };
  const id = read('id');
  const problem = pluginIdProblem(id);
  if (problem) throw new ModuleMetaError(`${entry}: meta.id "${id}" ${problem}.`);
  const version = read('version');
  if (!semver.valid(version)) throw new ModuleMetaError(`${entry}: meta.version "${version}" must be a semver version such as "1.0.0".`);
  const api = read('api');
  const answer = checkContractApi(api);
  if (!answer.ok) {
    const problem = answer.reason === 'major' ? `meta.api "${api}" is not supported: this host implements contract ${CONTRACT_API}` : contractApiProblem(api, id);
    throw new ModuleMetaError(`${entry}: ${problem}. Nothing of plugin "${id}" is installed.`);
  }
  return { id, version, api, dir };
}
