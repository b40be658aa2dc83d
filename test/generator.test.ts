import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChanges, type FileChange } from '../generators/changes.ts';
import { runCreate } from '../generators/create.ts';
import { runGenerate } from '../generators/generate.ts';
import { buildExample, EXAMPLES, listFiles, REPO_ROOT } from '../scripts/examples.ts';
import { scratchFolders, treeSnapshot } from './helpers/generator-runs.ts';

const tempDir = scratchFolders('fm-gen-');
const snapshot = treeSnapshot;

async function create(cwd: string, ...argv: string[]): Promise<string> {
  const out: string[] = [];
  await runCreate(argv, { cwd, interactive: false, log: (t) => out.push(t) });
  return out.join('\n');
}

async function generate(moduleDir: string, ...argv: string[]): Promise<string> {
  const out: string[] = [];
  await runGenerate(argv, { cwd: moduleDir, log: (t) => out.push(t) });
  return out.join('\n');
}

const CREATE_BIN = path.join(REPO_ROOT, 'bin', 'create-foundation-module.js');

describe('examples/ are exactly what the generators write', () => {
  it.each(EXAMPLES.map((e) => [e.id, e] as const))('examples/%s', (_id, recipe) => {
    const built = buildExample(recipe, tempDir());
    const committed = path.join(REPO_ROOT, 'examples', recipe.id);
    expect(listFiles(built)).toEqual(listFiles(committed));
    for (const file of listFiles(built)) {
      const equal = fs.readFileSync(path.join(built, file)).equals(fs.readFileSync(path.join(committed, file)));
      expect(equal, `examples/${recipe.id}/${file} differs from the generator's output: run \`npm run examples\``).toBe(true);
    }
  });
});

describe('create-foundation-module', () => {
  it.each([
    ['Stock', /lowercase kebab-case/],
    ['stock_ledger', /lowercase kebab-case/],
    ['1stock', /lowercase kebab-case/],
    ['stock--ledger', /lowercase kebab-case/],
    ['-stock', /Unknown option --s/],
    ['x', /2–40 characters/],
    ['a'.repeat(41), /2–40 characters/],
    ['api', /reserved/],
    ['health', /reserved/],
    ['admin', /reserved/],
    ['sys', /reserved/],
    ['plugins', /reserved/],
    ['pg-cache', /reserved/],
    ['../evil', /lowercase kebab-case/],
    ['a/b', /lowercase kebab-case/],
  ])('refuses the id %j, naming the rule, and writes nothing', async (id, rule) => {
    const cwd = tempDir();
    await expect(create(cwd, id, '--yes')).rejects.toThrow(rule);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it.each([
    ['--entity', 'Bad Name', /Entity name "Bad Name" must be lowercase kebab-case/],
    ['--entity', 'sheep', /same singular and plural/],
    ['--entity', 'an-extremely-long-entity-name-here', /PostgreSQL allows 63/],
    ['--name', 'two\nlines', /--name must be one line/],
  ])('refuses %s %j and writes nothing', async (flag, value, rule) => {
    const cwd = tempDir();
    await expect(create(cwd, 'stock-ledger-accounting', flag, value, '--yes')).rejects.toThrow(rule);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('exits non-zero without a terminal when the id is missing, listing the flags', () => {
    const cwd = tempDir();
    const run = spawnSync(process.execPath, [CREATE_BIN], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Missing the module id');
    expect(run.stderr).toContain('--name <text>');
    expect(run.stderr).toContain('--entity <name>');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('exits 1 with the reason for a bad id when run as a program', () => {
    const cwd = tempDir();
    const run = spawnSync(process.execPath, [CREATE_BIN, 'admin', '--yes'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^create-foundation-module: Module id "admin" is reserved/);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('--dry-run lists every file it would write and writes none', async () => {
    const cwd = tempDir();
    const out = await create(cwd, 'items', '--yes', '--dry-run');
    expect(fs.readdirSync(cwd)).toEqual([]);
    const listed = [...out.matchAll(/^CREATE\s+(\S+)/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(listFiles(path.join(REPO_ROOT, 'examples', 'items')));
  });

  it('refuses a non-empty folder; --force adds beside what is there and keeps existing files', async () => {
    const cwd = tempDir();
    const target = path.join(cwd, 'stock-ledger');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'README.md'), 'my notes\n');
    fs.writeFileSync(path.join(target, 'keep.txt'), 'mine\n');

    await expect(create(cwd, 'stock-ledger', '--yes')).rejects.toThrow(/exists and is not empty.*--force/);
    expect(listFiles(target)).toEqual(['README.md', 'keep.txt']);

    const out = await create(cwd, 'stock-ledger', '--yes', '--force');
    expect(out).toMatch(/SKIP\s+README\.md\s+\(exists, yours kept\)/);
    expect(fs.readFileSync(path.join(target, 'README.md'), 'utf8')).toBe('my notes\n');
    expect(fs.readFileSync(path.join(target, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(fs.existsSync(path.join(target, 'plugin', 'index.ts'))).toBe(true);
  });

  // `script` gives the program a real terminal, so the prompts show; answers go in as typed.
  it.skipIf(spawnSync('script', ['--version']).status !== 0)('asks on a terminal for what no flag gave, checking each answer', async () => {
    const cwd = tempDir();
    const answers: [RegExp, string][] = [
      [/Module id/, 'Bad_Id\r'],
      [/lowercase kebab-case/, '\x7f'.repeat(6) + 'stock-ledger\r'],
      [/Display name/, '\r'],
      [/First entity/, 'purchase-order\r'],
      [/Description/, 'Tracks stock per tenant.\r'],
    ];
    const child = spawn('script', ['-qec', `${process.execPath} ${CREATE_BIN}`, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      const next = answers[0];
      if (next && next[0].test(screen)) {
        answers.shift();
        screen = '';
        child.stdin.write(next[1]);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(answers.map(([question]) => String(question)), 'questions never asked').toEqual([]);
    expect(code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'stock-ledger', 'package.json'), 'utf8'));
    expect(pkg.description).toBe('Tracks stock per tenant.');
    expect(fs.readFileSync(path.join(cwd, 'stock-ledger', 'module.config.ts'), 'utf8')).toContain("name: 'Stock ledger',");
    expect(fs.existsSync(path.join(cwd, 'stock-ledger', 'plugin', 'purchase-orders.ts'))).toBe(true);
  });

  it('counts a folder holding only .git as empty', async () => {
    const cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'stock-ledger', '.git'), { recursive: true });
    await create(cwd, 'stock-ledger', '--yes');
    expect(fs.existsSync(path.join(cwd, 'stock-ledger', 'module.config.ts'))).toBe(true);
  });
});

describe('foundation-module generate', () => {
  async function freshModule(): Promise<string> {
    const cwd = tempDir();
    await create(cwd, 'stock-ledger', '--yes');
    return path.join(cwd, 'stock-ledger');
  }

  it('entity: --dry-run shows CREATE/UPDATE with diffs and writes nothing', async () => {
    const dir = await freshModule();
    const before = snapshot(dir);
    const out = await generate(dir, 'entity', 'purchase-order', '--dry-run');
    expect(snapshot(dir)).toEqual(before);
    expect(out).toMatch(/^CREATE\s+migrations\/tenant\/002_create_purchase_orders\.sql$/m);
    expect(out).toMatch(/^CREATE\s+plugin\/purchase-orders\.ts$/m);
    expect(out).toMatch(/^UPDATE\s+plugin\/index\.ts$/m);
    expect(out).toContain("+  ...purchaseOrdersPermissions,");
    expect(out).toContain("+    { label: 'Purchase orders', to: 'purchase-orders', permission: 'stock-ledger.purchase-orders.read' },");
  });

  it('entity: writes once; the same command again changes nothing', async () => {
    const dir = await freshModule();
    await generate(dir, 'entity', 'purchase-order');
    const once = snapshot(dir);
    expect(Object.keys(once)).toEqual(expect.arrayContaining([
      'plugin/purchase-orders.ts', 'client/src/pages/PurchaseOrdersPage.tsx', 'test/purchase-orders.api.test.ts', 'migrations/tenant/002_create_purchase_orders.down.sql',
    ]));
    const second = await generate(dir, 'entity', 'purchase-order');
    expect(snapshot(dir)).toEqual(once);
    expect(second.split('\n').filter((l) => /^(CREATE|UPDATE)/.test(l))).toEqual([]);
  });

  it('entity: a second run prints exactly what docs/authoring.md shows, every line SKIP … (unchanged)', async () => {
    const dir = await freshModule();
    await generate(dir, 'entity', 'supplier');
    const docs = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'authoring.md'), 'utf8');
    const shown = /The second `npm run generate -- entity supplier` prints:\n\n {2}```text\n([^`]*?)\n {2}```/.exec(docs)?.[1]?.replace(/^ {2}/gm, '');
    expect(shown, 'docs/authoring.md shows the second run').toBeDefined();
    expect(shown!.split('\n').every((line) => /^SKIP {3}\S+ {2}\(unchanged\)$/.test(line))).toBe(true);
    expect(await generate(dir, 'entity', 'supplier')).toBe(shown);
  });

  it('never overwrites a file the author changed', async () => {
    const dir = await freshModule();
    const page = path.join(dir, 'client/src/pages/ItemsPage.tsx');
    fs.writeFileSync(page, 'export default function Mine() { return null; }\n');
    const out = await generate(dir, 'entity', 'item');
    expect(out).toMatch(/SKIP\s+client\/src\/pages\/ItemsPage\.tsx\s+\(exists, yours kept\)/);
    expect(fs.readFileSync(page, 'utf8')).toBe('export default function Mine() { return null; }\n');
  });

  it('migration, permission and page: each written once, then left alone', async () => {
    const dir = await freshModule();
    await generate(dir, 'migration', 'add-sku');
    await generate(dir, 'migration', 'add-sku', '--public');
    await generate(dir, 'permission', 'reports.export');
    await generate(dir, 'page', 'overview', '--permission', 'reports.export');
    const once = snapshot(dir);
    expect(Object.keys(once)).toEqual(expect.arrayContaining([
      'migrations/tenant/002_add_sku.sql', 'migrations/tenant/002_add_sku.down.sql', 'migrations/public/001_add_sku.sql', 'client/src/pages/OverviewPage.tsx', 'test/overview.page.test.tsx',
    ]));
    const plugin = fs.readFileSync(path.join(dir, 'plugin/index.ts'), 'utf8');
    expect(plugin).toContain("  'stock-ledger.reports.export',\n];");
    const manifest = fs.readFileSync(path.join(dir, 'client/manifest.ts'), 'utf8');
    expect(manifest).toContain("{ label: 'Overview', to: 'overview', permission: 'stock-ledger.reports.export' },");

    await generate(dir, 'migration', 'add-sku');
    await generate(dir, 'permission', 'stock-ledger.reports.export');
    await generate(dir, 'page', 'overview', '--permission', 'reports.export');
    expect(snapshot(dir)).toEqual(once);
  });

  it('page --permission declares the permission its menu entry needs', async () => {
    const dir = await freshModule();
    await generate(dir, 'page', 'stats', '--permission', 'stats.view');
    expect(fs.readFileSync(path.join(dir, 'plugin/index.ts'), 'utf8')).toContain("  'stock-ledger.stats.view',\n];");
  });

  it('refuses bad names and kinds with the rule, writing nothing', async () => {
    const dir = await freshModule();
    const before = snapshot(dir);
    await expect(generate(dir, 'entity', 'Supplier')).rejects.toThrow(/lowercase kebab-case/);
    await expect(generate(dir, 'permission', 'export')).rejects.toThrow(/<resource>\.<action>/);
    await expect(generate(dir, 'table', 'x')).rejects.toThrow(/Unknown kind "table"/);
    await expect(generate(dir, 'entity')).rejects.toThrow(/Missing the name/);
    await expect(generate(tempDir(), 'entity', 'supplier')).rejects.toThrow(/not a module/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('fails with what to add by hand when an anchor it edits is gone, and writes nothing', async () => {
    const dir = await freshModule();
    const index = path.join(dir, 'plugin/index.ts');
    fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace('export const permissions: string[] = [', 'export const perms: string[] = ['));
    const before = snapshot(dir);
    await expect(generate(dir, 'entity', 'supplier')).rejects.toThrow(/could not find the `export const permissions = \[` list.*\.\.\.suppliersPermissions,/s);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('applyChanges', () => {
  it('puts the folder back as it was when a write fails part-way', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'existing.ts'), 'old\n');
    fs.writeFileSync(path.join(dir, 'blocker'), 'a file where a folder is needed\n');
    const changes: FileChange[] = [
      { path: 'new/first.ts', kind: 'CREATE', after: 'one\n' },
      { path: 'existing.ts', kind: 'UPDATE', before: 'old\n', after: 'new\n' },
      { path: 'blocker/second.ts', kind: 'CREATE', after: 'two\n' },
    ];
    const before = snapshot(dir);
    expect(() => applyChanges(dir, changes)).toThrow(/Nothing was written/);
    expect(snapshot(dir)).toEqual(before);
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
  });
});
