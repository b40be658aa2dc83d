/**
 * Issue 17: the contract's types reach a foundation without the kit's runtime. The entry
 * `create-foundation-module/contract` holds types only (no statement that runs, no import that
 * loads anything), a plugin written against it alone compiles (and its misuses don't), and the
 * generated modules import from it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/examples.ts';

const ENTRY = path.join(REPO_ROOT, 'contract', 'index.ts');
const source = ts.createSourceFile(ENTRY, fs.readFileSync(ENTRY, 'utf8'), ts.ScriptTarget.ES2022, true);

describe('the types-only contract entry', () => {
  it('is what the package exports as create-foundation-module/contract, for types only', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    // Its source in the kit's checkout, its declaration file (built by scripts/build.mjs) in the package.
    expect(pkg.exports['./contract']).toEqual({ 'foundation-kit-source': './contract/index.ts', types: './dist/contract/index.d.ts' });
    expect(pkg.files).toContain('dist');
  });

  it('imports only types, and only from express and drizzle-orm (nothing of the kit, no database client at run time)', () => {
    const imports = source.statements.filter(ts.isImportDeclaration);
    expect(imports.length).toBeGreaterThan(0);
    for (const declaration of imports) {
      expect(declaration.importClause?.isTypeOnly, declaration.getText()).toBe(true);
      expect((declaration.moduleSpecifier as ts.StringLiteral).text).toMatch(/^(express|drizzle-orm\/node-postgres)$/);
    }
    const reexports = source.statements.filter(ts.isExportDeclaration);
    expect(reexports.filter((e) => !e.isTypeOnly).map((e) => e.getText())).toEqual([]);
  });

  it('compiles to no code at all', () => {
    const { outputText } = ts.transpileModule(source.text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, removeComments: true },
    });
    expect(outputText.trim()).toBe('export {};');
  });

  it('type-checks a plugin written against it alone, and refuses its misuses (@ts-expect-error lines)', () => {
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const project = path.join(REPO_ROOT, 'test', 'fixtures', 'contract-consumer');
    expect(() => execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' })).not.toThrow();
    // The fixture's misuses are real: without their markers, tsc reports each one.
    const copy = fs.mkdtempSync(path.join(project, '..', '.contract-consumer-'));
    try {
      fs.writeFileSync(path.join(copy, 'tsconfig.json'), fs.readFileSync(path.join(project, 'tsconfig.json')));
      fs.writeFileSync(path.join(copy, 'plugin.ts'), fs.readFileSync(path.join(project, 'plugin.ts'), 'utf8').replaceAll('// @ts-expect-error', '// unmarked:'));
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', copy], { encoding: 'utf8' });
      } catch (error) {
        output = (error as { stdout: string }).stdout;
      }
      expect(output.match(/error TS/g)?.length).toBe(5);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('is where generated modules and the examples take their types from', () => {
    const files = ['template/module/plugin/index.ts', 'template/module/module.config.ts', 'examples/items/plugin/index.ts', 'examples/warehouse/plugin/index.ts'];
    for (const file of files) {
      expect(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'), file).toMatch(/from 'create-foundation-module\/contract'/);
    }
  });
});
