/**
 * How each example module under examples/ is made, as the commands an author would type. A test
 * replays them into a temporary folder and compares the result with examples/ byte for byte;
 * `npm run examples` replays them into examples/ after a template change.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFiles } from '../generators/files.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CREATE_BIN = path.join(REPO_ROOT, 'bin', 'create-foundation-module.js');
const KIT_BIN = path.join(REPO_ROOT, 'bin', 'foundation-module.js');

export interface ExampleRecipe {
  id: string;
  /** `create-foundation-module` arguments after the id. */
  create: string[];
  /** `foundation-module generate` argument lists, run in order inside the module. */
  generate: string[][];
}

export const EXAMPLES: ExampleRecipe[] = [
  { id: 'items', create: ['--yes'], generate: [] },
  {
    id: 'warehouse',
    create: ['--yes', '--entity', 'product', '--description', 'Products and their suppliers, per tenant.'],
    generate: [['entity', 'supplier'], ['page', 'overview']],
  },
];

/** Replays `recipe` in `parentDir`; returns the module folder. */
export function buildExample(recipe: ExampleRecipe, parentDir: string): string {
  const run = (bin: string, args: string[], cwd: string) =>
    execFileSync(process.execPath, [bin, ...args], { cwd, stdio: 'pipe', env: { ...process.env, npm_config_user_agent: '' } });
  run(CREATE_BIN, [recipe.id, ...recipe.create], parentDir);
  const moduleDir = path.join(parentDir, recipe.id);
  for (const args of recipe.generate) run(KIT_BIN, ['generate', ...args], moduleDir);
  return moduleDir;
}

export { listFiles };

// `npm run examples`: rebuild every example in place.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-examples-'));
  for (const recipe of EXAMPLES) {
    const built = buildExample(recipe, scratch);
    const target = path.join(REPO_ROOT, 'examples', recipe.id);
    fs.rmSync(target, { recursive: true, force: true });
    fs.cpSync(built, target, { recursive: true });
    console.log(`examples/${recipe.id}: ${listFiles(target).length} files`);
  }
  fs.rmSync(scratch, { recursive: true, force: true });
}
