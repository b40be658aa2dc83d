/**
 * Reading a module's catalog where its packages are not installed (a module fresh from `git clone`
 * or `npm create`, vendored by `npx -p create-foundation-module foundation-module vendor`): its
 * permissions, role templates and config schemas are literals in its own files, but those files
 * also import drizzle-orm, zod… With FOUNDATION_STUB_MISSING_PACKAGES=1 (the catalog printer
 * only), a package that does not resolve from a module file is replaced by a stub exporting each
 * name that file imports from it: a value that can be called, constructed and read from without
 * end, so that `z.object({…})` and `pgTable(…)` evaluate and the literals come out. A catalog
 * value computed from a stub is not a string, and the catalog's own checks refuse it.
 */
import { parse } from 'acorn';

/** The global where the stubs note which packages they stand in for (read by print-catalog.ts). */
export const STUBBED = '__foundationModuleStubbedPackages';

/** The packages stubs stood in for in this process, sorted. */
export function stubbedPackages(): string[] {
  return [...((globalThis as Record<string, unknown>)[STUBBED] as Set<string> | undefined ?? [])].sort();
}

/** What each module file imports from each package, by name: `<file URL>\0<specifier>` → names. */
const importedNames = new Map<string, Set<string>>();

interface ImportNode {
  type: string;
  source?: { value: string } | null;
  specifiers?: { type: string; imported?: { name?: string; value?: string }; local?: { name?: string; value?: string } }[];
}

/** Notes the names `code` (the JavaScript of the module file at `url`) imports from packages. */
export function recordImports(url: string, code: string): void {
  for (const node of parse(code, { ecmaVersion: 'latest', sourceType: 'module' }).body as unknown as ImportNode[]) {
    const specifier = node.source?.value;
    if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:')) continue;
    const names = importedNames.get(`${url}\0${specifier}`) ?? new Set<string>();
    for (const part of node.specifiers ?? []) {
      if (part.type === 'ImportSpecifier') names.add(part.imported?.name ?? part.imported?.value ?? '');
      else if (part.type === 'ImportDefaultSpecifier') names.add('default');
      else if (part.type === 'ExportSpecifier' && node.type === 'ExportNamedDeclaration') names.add(part.local?.name ?? part.local?.value ?? '');
    }
    names.delete('');
    importedNames.set(`${url}\0${specifier}`, names);
  }
}

/** A `data:` URL of a module that stands in for `specifier` as imported by `parentURL`. */
export function stubUrl(parentURL: string, specifier: string): string {
  const names = new Set(['default', ...(importedNames.get(`${parentURL}\0${specifier}`) ?? [])]);
  const source = [
    `// ${JSON.stringify(specifier)} is not installed here: a stand-in, for reading the module's catalog only.`,
    `(globalThis[${JSON.stringify(STUBBED)}] ??= new Set()).add(${JSON.stringify(specifier)});`,
    'const stub = new Proxy(function () {}, {',
    '  get: (_target, key) => key === Symbol.toPrimitive ? () => "" : key === Symbol.iterator ? function* () {} : key === "then" ? undefined : stub,',
    '  apply: () => stub,',
    '  construct: () => stub,',
    '});',
    `export { ${[...names].map((name) => `stub as ${JSON.stringify(name)}`).join(', ')} };`,
  ].join('\n');
  return `data:text/javascript,${encodeURIComponent(source)}`;
}
