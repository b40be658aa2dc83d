/**
 * Which module folders a command works on: the ones named, else the current folder when it is a
 * module, else every module under `examples/` (this kit's repository) or `src/modules/` (a
 * foundation with vendored modules).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readModuleMigrations, type ModuleMigrations } from '../operations/migrations/plan.ts';
import { CliError, UsageError } from './errors.ts';

const isModule = (dir: string) => fs.existsSync(path.join(dir, 'plugin', 'index.ts'));

export function resolveModuleDirs(given: string[], cwd: string, command: string): string[] {
  if (given.length > 0) {
    return given.map((dir) => {
      const absolute = path.resolve(cwd, dir);
      if (!isModule(absolute)) throw new UsageError(`${dir} is not a module directory (no plugin/index.ts in it).`);
      return absolute;
    });
  }
  if (isModule(cwd)) return [cwd];
  for (const parent of ['examples', path.join('src', 'modules')]) {
    const folder = path.join(cwd, parent);
    if (!fs.existsSync(folder)) continue;
    const found = fs.readdirSync(folder).map((name) => path.join(folder, name)).filter(isModule).sort();
    if (found.length > 0) return found;
  }
  throw new UsageError(`No module in ${cwd}: run inside a module directory (one with plugin/index.ts), or name module directories: foundation-module ${command} path/to/module`);
}

/** The migrations of each module folder. Module files are the operator's input: a bad one is a failure (1), named, not a crash. */
export function readModuleFolders(dirs: string[]): ModuleMigrations[] {
  const modules = dirs.map((dir) => {
    try {
      return readModuleMigrations(dir);
    } catch (error) {
      throw new CliError((error as Error).message, 1);
    }
  });
  const twice = modules.find((m, i) => modules.findIndex((o) => o.id === m.id) !== i);
  if (twice) throw new CliError(`Two modules have the plugin id "${twice.id}": ${modules.filter((m) => m.id === twice.id).map((m) => m.dir).join(' and ')}.`, 1);
  return modules;
}
