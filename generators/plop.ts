/**
 * The plop generators: `module`, `entity`, `migration`, `permission` and `page`. Each is a list of
 * actions over a staging copy of the module (see changes.ts); the templates live in template/.
 *
 * Two action types of our own keep the rules in one place:
 *   - `file`: render a template to a path; an existing file is never replaced (it is reported);
 *   - `edit`: change an existing file through a function that returns it unchanged when the
 *     change is already there, so running a generator twice changes nothing the second time.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodePlop, { type ActionType, type NodePlopAPI } from 'node-plop';
import { migrationFileName, parseMigrationFileName, type MigrationFileName } from '../rules/index.ts';
import { listFiles } from './files.ts';
import { moduleAllowScripts, moduleDependencies, moduleDevDependencies, moduleOptionalDependencies, TEMPLATE_DIR } from './kit.ts';
import type { EntityNames, ModuleNames, Spellings } from './names.ts';
import { addImport, addToBlock } from './source-edits.ts';

/** Answers of the `module` generator, checked (see create.ts). */
export interface ModuleAnswers {
  module: ModuleNames;
  /** Display name, e.g. `Stock ledger`. */
  name: string;
  description: string;
  kitVersion: string;
  /** The kit's devDependency spec (`--kit`). @default `^<kitVersion>` */
  kitSpec?: string;
  entity: EntityNames;
}

export interface EntityAnswers {
  module: ModuleNames;
  entity: EntityNames;
}

export interface MigrationAnswers {
  /** Folder under migrations/: `tenant` (each tenant schema) or `public` (once per database). */
  scope: 'tenant' | 'public';
  stem: string;
  /** SQL of the migration (`--sql`), ending in a newline. @default '' (the file holds only its comment) */
  sql?: string;
  /** SQL of the .down.sql file (`--down-sql`), ending in a newline. @default '' */
  downSql?: string;
}

export interface PermissionAnswers {
  permission: string;
}

export interface PageAnswers {
  page: Spellings;
  /** Permission the menu entry needs, if any. */
  permission?: string;
}

/** What one action did to one file, for the plan shown to the author. */
export interface ActionOutcome {
  path: string;
  /** `kept`: the file exists and differs from the template; the author's version stays. */
  outcome: 'written' | 'edited' | 'unchanged' | 'kept';
}

export async function createPlop(stagingDir: string, outcomes: ActionOutcome[]): Promise<NodePlopAPI> {
  const plop = await nodePlop('', { destBasePath: stagingDir, force: false });
  plop.setPlopfilePath(TEMPLATE_DIR);
  plop.setHelper('json', (value: unknown) => JSON.stringify(value));
  plop.setHelper('str', (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`);
  plop.setHelper('concat', (...parts: unknown[]) => parts.slice(0, -1).join(''));

  const staged = (file: string) => path.join(stagingDir, file);
  const render = (templateFile: string, data: object) =>
    plop.renderString(fs.readFileSync(path.join(TEMPLATE_DIR, templateFile), 'utf8'), data);

  // Async, so that a throw reaches plop as a rejection and its message is kept in the failure.
  plop.setActionType('file', async (data, config) => {
    const { path: file, templateFile, transform } = config as unknown as FileAction;
    const text = transform ? transform(render(templateFile, data)) : render(templateFile, data);
    const target = staged(file);
    if (fs.existsSync(target)) {
      const same = fs.readFileSync(target, 'utf8') === text;
      outcomes.push({ path: file, outcome: same ? 'unchanged' : 'kept' });
      return same ? `unchanged ${file}` : `kept ${file} (exists; not overwritten)`;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
    outcomes.push({ path: file, outcome: 'written' });
    return `wrote ${file}`;
  });

  plop.setActionType('edit', async (data, config) => {
    const { path: file, edit } = config as unknown as EditAction;
    const target = staged(file);
    if (!fs.existsSync(target)) {
      throw new Error(`${file} is missing: run this inside a module made by create-foundation-module (or restore the file).`);
    }
    const before = fs.readFileSync(target, 'utf8');
    const after = edit(before, data, (templateFile) => render(templateFile, data));
    if (after !== before) fs.writeFileSync(target, after);
    outcomes.push({ path: file, outcome: after === before ? 'unchanged' : 'edited' });
    return `${after === before ? 'unchanged' : 'edited'} ${file}`;
  });

  plop.setGenerator('module', { description: 'a new module', prompts: [], actions: (data) => moduleActions(data as ModuleAnswers, stagingDir) });
  plop.setGenerator('entity', { description: 'a table with CRUD routes, permissions, a page and tests', prompts: [], actions: (data) => entityActions(data as EntityAnswers, stagingDir) });
  plop.setGenerator('migration', { description: 'the next numbered migration (+ down)', prompts: [], actions: (data) => migrationActions(data as MigrationAnswers, stagingDir) });
  plop.setGenerator('permission', { description: 'a permission of this module', prompts: [], actions: (data) => permissionActions(data as PermissionAnswers) });
  plop.setGenerator('page', { description: 'a client page with a route and menu entry', prompts: [], actions: (data) => pageActions(data as PageAnswers) });
  return plop;
}

interface FileAction {
  type: 'file';
  path: string;
  templateFile: string;
  transform?: (text: string) => string;
}

interface EditAction {
  type: 'edit';
  path: string;
  edit: (source: string, data: unknown, render: (templateFile: string) => string) => string;
}

const file = (target: string, templateFile: string, transform?: FileAction['transform']): ActionType =>
  ({ type: 'file', path: target, templateFile, transform }) as unknown as ActionType;
const edit = (target: string, change: EditAction['edit']): ActionType =>
  ({ type: 'edit', path: target, edit: change }) as unknown as ActionType;

/** Dot-files are stored as `_name` in template/: npm drops `.gitignore` from packages. */
const DOTFILES: Record<string, string> = { _gitignore: '.gitignore', _gitattributes: '.gitattributes' };

function moduleActions(answers: ModuleAnswers, stagingDir: string): ActionType[] {
  const actions = listFiles(path.join(TEMPLATE_DIR, 'module')).map((relative) => {
    const target = relative.split('/').map((part) => DOTFILES[part] ?? part).join('/');
    return file(target, `module/${relative}`, relative === 'package.json' ? (text: string) => withDependencies(text, answers.kitSpec) : undefined);
  });
  return [...actions, ...entityActions({ module: answers.module, entity: answers.entity }, stagingDir)];
}

/** package.json is data: the kit's own lists go in as JSON, never through a template. */
function withDependencies(text: string, kitSpec: string | undefined): string {
  const pkg = JSON.parse(text) as Record<string, unknown>;
  const lists: Record<string, unknown> = {
    dependencies: moduleDependencies(),
    devDependencies: moduleDevDependencies(kitSpec),
    optionalDependencies: moduleOptionalDependencies(),
    allowScripts: moduleAllowScripts(),
  };
  // Placed last, in this order, whatever the template holds.
  for (const key of Object.keys(lists)) delete pkg[key];
  return `${JSON.stringify({ ...pkg, ...lists }, null, 2)}\n`;
}

function entityActions({ entity }: EntityAnswers, stagingDir: string): ActionType[] {
  const { many } = entity;
  const migrations = path.join(stagingDir, 'migrations', 'tenant');
  const existing = migrationFiles(migrations);
  const made = existing.some(({ file }) => fs.readFileSync(path.join(migrations, file), 'utf8').includes(`CREATE TABLE ${entity.table} (`));
  const migration = made ? undefined : nextMigration(migrations, existing.length === 0 ? 'init' : `create_${many.snake}`);
  const routes = `register${many.pascal}Routes`;
  return [
    file(`plugin/${many.kebab}.ts`, 'entity/plugin/entity.ts'),
    edit('shared/schema.ts', (source, _data, render) =>
      source.includes(`pgTable('${entity.table}'`) ? source : source + render('entity/schema-table.ts')),
    ...(migration
      ? [file(`migrations/tenant/${migration}.sql`, 'entity/migrations/up.sql'), file(`migrations/tenant/${migration}.down.sql`, 'entity/migrations/down.sql')]
      : []),
    file(`client/src/api/${many.kebab}.ts`, 'entity/client/src/api/entity.ts'),
    file(`client/src/pages/${many.pascal}Page.tsx`, 'entity/client/src/pages/page.tsx'),
    file(`test/${many.kebab}.api.test.ts`, 'entity/test/api.test.ts'),
    file(`test/${many.kebab}.page.test.tsx`, 'entity/test/page.test.tsx'),
    edit('plugin/index.ts', (source) => {
      let next = addImport(source, `import { ${many.camel}Permissions, ${routes} } from './${many.kebab}.ts';`, 'plugin/index.ts');
      next = addToBlock(next, /export const permissions[^=]*=\s*\[/, `...${many.camel}Permissions,`, 'plugin/index.ts', 'the `export const permissions = [` list');
      return addToBlock(next, /async register\(ctx\)[^{]*\{/, `${routes}(ctx);`, 'plugin/index.ts', 'the body of `async register(ctx) {`');
    }),
    edit('client/manifest.ts', (source) => {
      const page = `import('./src/pages/${many.pascal}Page.tsx')`;
      const next = addToBlock(source, /routes:\s*\[/, `{ path: '${many.kebab}', component: () => ${page} },`, 'client/manifest.ts', 'the `routes: [` list');
      return addToBlock(next, /menu:\s*\[/, `{ label: '${many.title}', to: '${many.kebab}', permission: '${entity.permissionPrefix}.read' },`, 'client/manifest.ts', 'the `menu: [` list');
    }),
  ].map((action) => withData(action, { migration }));
}

function migrationActions({ scope, stem }: MigrationAnswers, stagingDir: string): ActionType[] {
  const dir = path.join(stagingDir, 'migrations', scope);
  const existing = migrationFiles(dir).find((m) => m.description === stem);
  const migration = existing ? existing.file.replace(/\.sql$/, '') : nextMigration(dir, stem);
  return [
    file(`migrations/${scope}/${migration}.sql`, `migration/${scope}.sql`),
    file(`migrations/${scope}/${migration}.down.sql`, 'migration/down.sql'),
  ].map((action) => withData(action, { migration }));
}

function permissionActions({ permission }: PermissionAnswers): ActionType[] {
  return [
    edit('plugin/index.ts', (source) =>
      source.includes(`'${permission}'`)
        ? source
        : addToBlock(source, /export const permissions[^=]*=\s*\[/, `'${permission}',`, 'plugin/index.ts', 'the `export const permissions = [` list')),
  ];
}

function pageActions({ page, permission }: PageAnswers): ActionType[] {
  const menu = permission ? `, permission: '${permission}'` : '';
  return [
    // A menu entry behind a permission nobody can hold would hide the page from everyone.
    ...(permission ? permissionActions({ permission }) : []),
    file(`client/src/pages/${page.pascal}Page.tsx`, 'page/page.tsx'),
    file(`test/${page.kebab}.page.test.tsx`, 'page/page.test.tsx'),
    edit('client/manifest.ts', (source) => {
      const next = addToBlock(source, /routes:\s*\[/, `{ path: '${page.kebab}', component: () => import('./src/pages/${page.pascal}Page.tsx') },`, 'client/manifest.ts', 'the `routes: [` list');
      return addToBlock(next, /menu:\s*\[/, `{ label: '${page.title}', to: '${page.kebab}'${menu} },`, 'client/manifest.ts', 'the `menu: [` list');
    }),
  ];
}

/** Up migrations of one folder, ordered by number as the sandbox applies them (down files left out). */
export function migrationFiles(dir: string): MigrationFileName[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .map(parseMigrationFileName)
    .filter((parsed): parsed is MigrationFileName => parsed !== undefined && !parsed.down)
    .sort((a, b) => a.number - b.number);
}

/** `NNN_stem` (no extension) with NNN one past the highest number in `dir`. */
function nextMigration(dir: string, stem: string): string {
  const next = Math.max(0, ...migrationFiles(dir).map((m) => m.number)) + 1;
  return migrationFileName(next, stem).replace(/\.sql$/, '');
}

/** Per-action template data; plop merges it over the generator's answers. */
function withData(action: ActionType, data: Record<string, unknown>): ActionType {
  return { ...(action as object), data } as ActionType;
}
