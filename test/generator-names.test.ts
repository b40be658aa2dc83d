/**
 * Entity names that meet the generated code's own identifiers: each one either compiles (all the
 * accepted ones go into one module, type-checked once) or is refused with the clash named and
 * nothing written.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCreate } from '../generators/create.ts';
import { generateIn, treeSnapshot } from './helpers/generator-runs.ts';
import { scanWords } from '../generators/template-names.ts';
import { REPO_ROOT } from '../scripts/examples.ts';

// Inside the repository, so that the module resolves create-foundation-module and its types.
const scratch = path.join(REPO_ROOT, '.tmp', 'test-modules');
fs.mkdirSync(scratch, { recursive: true });
const parent = fs.mkdtempSync(path.join(scratch, 'fm-names-'));
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

/**
 * Each name, and for a refused one the identifier its refusal names. Accepted: common nouns whose
 * plural or PascalCase meets a local of the templates before they were renamed (data, rows, input),
 * globals the templates never use (Map, Event), and reserved words the templates only use inside
 * longer names (classInput, NewDelete).
 */
const AWKWARD: [name: string, clash?: string][] = [
  ['datum'], ['data'], ['row'], ['rows'], ['child'], ['person'], ['criterion'], ['index'],
  ['input'], ['status'], ['name'], ['description'], ['id'], ['uuid'], ['user'], ['list'], ['result'], ['issue'],
  ['field'], ['body'], ['route'], ['module'], ['schema'], ['server'], ['origin'], ['test'], ['api'],
  ['http'], ['validation'], ['request'], ['map'], ['page'], ['array'], ['object'], ['string'], ['number'],
  ['symbol'], ['event'], ['document'], ['file'], ['location'], ['node'], ['element'], ['url'], ['table'],
  ['text'], ['timestamp'], ['pg-table'], ['new-item'], ['item-form'], ['items-permission'], ['created'], ['listed'],
  ['class'], ['default'], ['new'], ['delete'], ['import'], ['export'], ['package'], ['function'], ['interface'],
  ['return'], ['case'], ['this'],
  ['error', 'Error'], ['date', 'Date'], ['promise', 'Promise'], ['response', 'Response'], ['record', 'Record'],
  ['api-error', 'ApiError'], ['tenant', 'tenantId'], ['plugin', 'pluginId'], ['permission', 'permissions'], ['parse', 'parseInput'],
  ['listed-row', 'listedRows'], ['http-response', 'HttpResponse'], ['form-event', 'FormEvent'],
  ['argument', 'arguments'],
];

async function create(cwd: string, ...argv: string[]): Promise<void> {
  await runCreate(argv, { cwd, interactive: false, log: () => {} });
}

const generate = (moduleDir: string, ...argv: string[]) => generateIn(moduleDir, argv);
const snapshot = treeSnapshot;

describe('entity names that meet the generated code\'s own identifiers', () => {
  const moduleDir = path.join(parent, 'stock-ledger');
  const accepted = AWKWARD.filter(([, clash]) => !clash).map(([name]) => name);
  const refused = AWKWARD.filter(([, clash]) => clash) as [string, string][];

  it('accepts the others, and one module holding all of them type-checks', async () => {
    await create(parent, 'stock-ledger', '--yes');
    for (const name of accepted) await generate(moduleDir, 'entity', name);
    const started = Date.now();
    const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', moduleDir, '--customConditions', 'foundation-kit-source'], { encoding: 'utf8' });
    console.log(`tsc on one module with ${accepted.length} awkward entities: ${Date.now() - started} ms`);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    expect(fs.existsSync(path.join(moduleDir, 'plugin', 'data.ts'))).toBe(true);
  }, 120_000);

  it.each(refused)('refuses %j, naming the clash with %j and the template using it, and writes nothing', async (name, clash) => {
    if (!fs.existsSync(moduleDir)) await create(parent, 'stock-ledger', '--yes');
    const before = snapshot(moduleDir);
    const refusal = await generate(moduleDir, 'entity', name).then(() => '', (error: Error) => error.message);
    expect(refusal).toContain(`Entity name "${name}" makes the identifier "${clash}"`);
    const [, template] = /(template\/[\w/.-]+\.tsx?)/.exec(refusal) ?? [];
    expect(template, refusal).toBeDefined();
    if (!refusal.includes('a reserved word')) {
      expect(fs.readFileSync(path.join(REPO_ROOT, template!), 'utf8')).toMatch(new RegExp(`\\b${clash}\\b`));
    }
    expect(refusal).toMatch(/pick a more specific name, e\.g\. "[a-z-]+"\.$/);
    expect(snapshot(moduleDir)).toEqual(before);
  });

  it('refuses such a name as the first entity of create-foundation-module too, writing nothing', async () => {
    const cwd = fs.mkdtempSync(path.join(parent, 'create-'));
    await expect(create(cwd, 'stock-ledger', '--yes', '--entity', 'api-error')).rejects.toThrow(/makes the identifier "ApiError"/);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe('the template scanner', () => {
  it('keeps bindings, references and components; leaves out comments, strings, JSX text, attributes, members and keys', () => {
    const source = [
      '// rows in a comment',
      'import { useState } from \'react\';',
      'const label = \'rows in a string\' + `${total} rows`;',
      'export function Page({ apiFetch }: Props) {',
      '  const [shown, setShown] = useState<Item[]>([]);',
      '  const answer = { data: shown, count: shown.length, ...extra };',
      '  return <Table rows={shown} title="Rows">Rows {shown.length} listed</Table>;',
      '}',
    ].join('\n');
    const words = scanWords(source, { jsx: true });
    const kept = words.filter((w) => !w.property).map((w) => w.text);
    expect(kept).toEqual(expect.arrayContaining(['useState', 'label', 'total', 'Page', 'apiFetch', 'Props', 'shown', 'setShown', 'Item', 'answer', 'extra', 'Table']));
    expect(kept).not.toContain('rows');
    expect(kept).not.toContain('Rows');
    expect(kept).not.toContain('listed');
    expect(words.filter((w) => w.property).map((w) => w.text)).toEqual(['data', 'count', 'length', 'length']);
  });

  it('keeps the holes of a name the author types, in every place, keys included', () => {
    const words = scanWords("ctx.log('created', { {{idParam}}: row.id, tenantId });\nexport const {{many.camel}}Permissions = [];");
    expect(words.map((w) => w.text)).toEqual(['ctx', 'log', '{{idParam}}', 'row', 'id', 'tenantId', 'export', 'const', '{{many.camel}}Permissions']);
  });
});
