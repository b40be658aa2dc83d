import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
export const ITEMS_MODULE = path.join(REPO_ROOT, 'examples', 'items');
export const WAREHOUSE_MODULE = path.join(REPO_ROOT, 'examples', 'warehouse');
/** Scratch modules of the tests (git-ignored). */
export const TEST_MODULES = path.join(REPO_ROOT, '.tmp', 'test-modules');

/**
 * A copy of examples/items in a temp folder, with `edit` applied to its files (path relative to
 * the module → new content, or a function of the old content). For tests of refused plugins.
 */
export function moduleVariant(edit: Record<string, string | ((old: string) => string)>): string {
  // Inside the repo, so that the copy resolves the kit and its packages as the original does.
  fs.mkdirSync(TEST_MODULES, { recursive: true });
  const dir = fs.mkdtempSync(path.join(TEST_MODULES, 'fm-module-'));
  fs.cpSync(ITEMS_MODULE, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  for (const [file, change] of Object.entries(edit)) {
    const target = path.join(dir, file);
    const old = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, typeof change === 'function' ? change(old) : change);
  }
  return dir;
}
