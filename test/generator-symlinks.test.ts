/**
 * A module whose folders or files are symlinks (a shared `client/src/pages`, a linked
 * `plugin/index.ts`): a dry run writes nothing anywhere, a real run writes through the links and
 * keeps them links, and a failing run leaves both the module and the link targets as they were.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChanges, type FileChange } from '../generators/changes.ts';
import { runCreate } from '../generators/create.ts';
import { generateIn, scratchFolders, treeSnapshot } from './helpers/generator-runs.ts';

const tempDir = scratchFolders('fm-links-');
const generate = (moduleDir: string, ...argv: string[]) => generateIn(moduleDir, argv);
const hashes = treeSnapshot;

/**
 * `stock-ledger`, with its `client/src/pages` folder moved to `<tmp>/shared/pages` and linked back
 * (absolute link), and its `plugin/index.ts` moved to `<tmp>/shared/index.ts` (relative link).
 */
async function linkedModule(): Promise<{ moduleDir: string; shared: string; state: () => unknown }> {
  const root = tempDir();
  await runCreate(['stock-ledger', '--yes'], { cwd: root, interactive: false, log: () => {} });
  const moduleDir = path.join(root, 'stock-ledger');
  const shared = path.join(root, 'shared');
  fs.mkdirSync(shared);
  fs.renameSync(path.join(moduleDir, 'client/src/pages'), path.join(shared, 'pages'));
  fs.symlinkSync(path.join(shared, 'pages'), path.join(moduleDir, 'client/src/pages'));
  fs.renameSync(path.join(moduleDir, 'plugin/index.ts'), path.join(shared, 'index.ts'));
  fs.symlinkSync('../../shared/index.ts', path.join(moduleDir, 'plugin/index.ts'));
  // Everything an author would compare: the module's own files, the targets' files, and the links.
  const state = () => ({
    module: hashes(moduleDir),
    shared: hashes(shared),
    links: ['client/src/pages', 'plugin/index.ts'].map((link) => [link, fs.lstatSync(path.join(moduleDir, link)).isSymbolicLink() && fs.readlinkSync(path.join(moduleDir, link))]),
  });
  return { moduleDir, shared, state };
}

describe('a module with symlinked folders and files', () => {
  it('--dry-run reads through the links and writes nothing, in the module or at the links\' targets', async () => {
    const { moduleDir, state } = await linkedModule();
    const before = state();
    const out = await generate(moduleDir, 'entity', 'supplier', '--dry-run');
    expect(out).toMatch(/^CREATE\s+client\/src\/pages\/SuppliersPage\.tsx$/m);
    expect(out).toMatch(/^UPDATE\s+plugin\/index\.ts$/m);
    expect(out).toContain('+    registerSuppliersRoutes(ctx);');
    expect(state()).toEqual(before);
  });

  it('a real run writes through the links to their targets and keeps the links', async () => {
    const { moduleDir, shared, state } = await linkedModule();
    const { links } = state() as { links: unknown };
    const out = await generate(moduleDir, 'entity', 'supplier');
    expect(out).toMatch(/^CREATE\s+client\/src\/pages\/SuppliersPage\.tsx$/m);
    expect(out).toMatch(/^UPDATE\s+plugin\/index\.ts$/m);
    expect((state() as { links: unknown }).links).toEqual(links);
    expect(fs.existsSync(path.join(shared, 'pages', 'SuppliersPage.tsx'))).toBe(true);
    expect(fs.readFileSync(path.join(shared, 'index.ts'), 'utf8')).toContain('    registerSuppliersRoutes(ctx);\n');
    expect(fs.readFileSync(path.join(moduleDir, 'plugin/index.ts'), 'utf8')).toContain('registerSuppliersRoutes(ctx);');
    expect(fs.existsSync(path.join(moduleDir, 'plugin', 'suppliers.ts'))).toBe(true);
    // And the run is still idempotent through the links.
    const once = state();
    expect(await generate(moduleDir, 'entity', 'supplier')).not.toMatch(/^(CREATE|UPDATE)/m);
    expect(state()).toEqual(once);
  });

  it('a run that fails while staging writes nothing, through the links included', async () => {
    const { moduleDir, state } = await linkedModule();
    // A file where the generator needs the test/ folder: the entity's page is staged before it fails.
    fs.rmSync(path.join(moduleDir, 'test'), { recursive: true });
    fs.writeFileSync(path.join(moduleDir, 'test'), 'a file where a folder is needed\n');
    const before = state();
    await expect(generate(moduleDir, 'entity', 'supplier')).rejects.toThrow();
    expect(state()).toEqual(before);
  });

  it('a write that fails part-way puts back the link targets and keeps the links', async () => {
    const { moduleDir, shared, state } = await linkedModule();
    fs.mkdirSync(path.join(moduleDir, 'occupied', 'by-a-folder'), { recursive: true });
    const index = fs.readFileSync(path.join(moduleDir, 'plugin/index.ts'), 'utf8');
    const changes: FileChange[] = [
      { path: 'plugin/index.ts', kind: 'UPDATE', before: index, after: `${index}// changed\n` },
      { path: 'client/src/pages/NewPage.tsx', kind: 'CREATE', after: 'export default function NewPage() { return null; }\n' },
      // Renamed last, onto a folder: fails after the two writes above are in place.
      { path: 'occupied', kind: 'UPDATE', before: '', after: 'a file where a folder is\n' },
    ];
    const before = state();
    expect(() => applyChanges(moduleDir, changes)).toThrow(/Nothing was written/);
    expect(state()).toEqual(before);
    expect(fs.readdirSync(path.join(shared, 'pages')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a symlink cycle or a broken link in the module neither hangs nor stops the generator', async () => {
    const { moduleDir, state } = await linkedModule();
    fs.symlinkSync('..', path.join(moduleDir, 'client', 'src', 'loop'));
    fs.symlinkSync(moduleDir, path.join(moduleDir, 'plugin', 'module'));
    fs.symlinkSync('missing.ts', path.join(moduleDir, 'shared', 'broken.ts'));
    const before = state();
    const out = await generate(moduleDir, 'entity', 'supplier', '--dry-run');
    expect(out).toMatch(/^CREATE\s+plugin\/suppliers\.ts$/m);
    expect(state()).toEqual(before);
    await generate(moduleDir, 'entity', 'supplier');
    expect(fs.existsSync(path.join(moduleDir, 'plugin', 'suppliers.ts'))).toBe(true);
    expect(fs.lstatSync(path.join(moduleDir, 'client', 'src', 'loop')).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(path.join(moduleDir, 'shared', 'broken.ts')).isSymbolicLink()).toBe(true);
  }, 20_000);
});
