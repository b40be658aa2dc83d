/**
 * docs/authoring.md "Add a field to an entity", done as written: the command of its shell block
 * and the changes of its diff blocks, on a module generated as the recipe says. The module must
 * then type-check and pass its tests, the new ones included, so the recipe cannot rot unseen.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCreate } from '../generators/create.ts';
import { runGenerate } from '../generators/generate.ts';
import { REPO_ROOT } from '../scripts/examples.ts';

// Inside the repository, so that the module resolves create-foundation-module and its packages.
const scratch = path.join(REPO_ROOT, '.tmp', 'test-modules');
fs.mkdirSync(scratch, { recursive: true });
const parent = fs.mkdtempSync(path.join(scratch, 'fm-recipe-'));
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

const docs = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'authoring.md'), 'utf8');
const recipe = /^## Add a field to an entity\n([\s\S]*?)^## /m.exec(docs)?.[1] ?? '';
const blocks = [...recipe.matchAll(/^```(sh|diff)\n([\s\S]*?)^```$/gm)].map(([, lang, body]) => ({ lang: lang!, body: body! }));

it('the recipe has its command and a change for each of the six places', () => {
  expect(blocks.filter((b) => b.lang === 'sh')).toHaveLength(1);
  expect(blocks.filter((b) => b.lang === 'diff').map((b) => b.body.split('\n')[0])).toEqual([
    '--- shared/schema.ts', '--- plugin/items.ts', '--- client/src/api/items.ts', '--- client/src/pages/ItemsPage.tsx',
    '--- test/items.api.test.ts', '--- test/items.page.test.tsx',
  ]);
});

it('done on a generated module as written, leaves it type-checking and passing its tests, the new ones too', async () => {
  await runCreate(['stock-ledger', '--yes'], { cwd: parent, interactive: false, log: () => {} });
  const moduleDir = path.join(parent, 'stock-ledger');

  for (const { lang, body } of blocks) {
    if (lang === 'sh') {
      const [npm, run, script, dashes, ...args] = shellWords(body);
      expect([npm, run, script, dashes]).toEqual(['npm', 'run', 'generate', '--']);
      await runGenerate(args, { cwd: moduleDir, log: () => {} });
    } else {
      applyDiff(moduleDir, body);
    }
  }
  expect(fs.readFileSync(path.join(moduleDir, 'migrations/tenant/002_add_item_price.sql'), 'utf8')).toContain('ADD COLUMN price numeric(12, 2)');

  const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', moduleDir, '--customConditions', 'foundation-kit-source'], { encoding: 'utf8' });
  expect(tsc.stdout + tsc.stderr).toBe('');

  const report = path.join(parent, 'report.json');
  const vitest = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`], {
    cwd: moduleDir, encoding: 'utf8', env: moduleEnv(),
  });
  expect(fs.existsSync(report), vitest.stdout + vitest.stderr).toBe(true);
  const results = JSON.parse(fs.readFileSync(report, 'utf8')) as VitestReport;
  const tests = results.testResults.flatMap((file) => file.assertionResults.map((a) => ({ file: path.basename(file.name), title: a.title, status: a.status })));
  expect(tests.filter((test) => test.status !== 'passed'), vitest.stdout + vitest.stderr).toEqual([]);
  expect(tests).toEqual(expect.arrayContaining([
    { file: 'items.api.test.ts', title: 'stores a price as a number, and refuses a negative one', status: 'passed' },
    { file: 'items.page.test.tsx', title: 'shows each item\'s price with two decimals', status: 'passed' },
  ]));
}, 180_000);

interface VitestReport {
  testResults: { name: string; assertionResults: { title: string; status: string }[] }[];
}

/** The words of a shell command with `\` line continuations and "double-quoted" words. */
function shellWords(command: string): string[] {
  const line = command.replace(/\\\n/g, ' ').trim();
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map(([, quoted, bare]) => (quoted ?? bare)!.replace(/\\(.)/g, '$1'));
}

/**
 * Applies a diff block as the docs write it: `--- <file>`, then hunks split by `@@` lines, each
 * with ` ` context, `-` removed and `+` added lines. Each hunk's old text must occur exactly once.
 */
function applyDiff(moduleDir: string, block: string): void {
  const [header, ...lines] = block.split('\n');
  const file = path.join(moduleDir, /^--- (\S+)$/.exec(header!)![1]!);
  let source = fs.readFileSync(file, 'utf8');
  for (const hunk of lines.join('\n').split(/^@@$/m)) {
    const hunkLines = hunk.split('\n').filter((l) => l !== '');
    const before = hunkLines.filter((l) => !l.startsWith('+')).map((l) => l.slice(1)).join('\n');
    const after = hunkLines.filter((l) => !l.startsWith('-')).map((l) => l.slice(1)).join('\n');
    expect(before, `a hunk for ${file} with no context`).not.toBe('');
    expect(source.split(before).length - 1, `${file} holds this text once:\n${before}`).toBe(1);
    source = source.replace(before, () => after);
  }
  fs.writeFileSync(file, source);
}

/** This process's environment without what Vitest set for itself, which the module's own Vitest must not inherit. */
function moduleEnv(): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_ENV')), FORCE_COLOR: '0' };
}
