/**
 * What vendoring places in a foundation, and where: the module's own files under
 * `src/modules/<id>/` (seeds' layout), the kit-owned library beside the bindings in
 * `src/lib/foundation-module/`, and the import paths rewritten to those places. Pure: reads the
 * kit's and the module's files, writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KIT_PACKAGE, KIT_ROOT, vendoredSource } from '../sandbox/kit-files.ts';

/** Where the library and the bindings go, relative to the foundation root. */
export const LIB_DIR = 'src/lib/foundation-module';
export const BINDINGS_FILE = `${LIB_DIR}/bindings.ts`;
export const TEST_BINDINGS_FILE = `${LIB_DIR}/test-bindings.ts`;
export const modulePath = (id: string, relative = '') => path.posix.join('src/modules', id, relative);

/** A module's adapter to a foundation, placed at `server/routes/index.ts` there. */
export const ADAPTER_FILE = 'foundation/routes/index.ts';
/** The module's folders that ship as they are; tests, the dev config and the README stay with the module. */
const SHIPPED_DIRS = ['plugin', 'shared', 'migrations', 'client'];
const SHIPPED_EXTENSIONS = /\.(ts|tsx|sql|css|json|svg|png)$/;

/** The kit's source for each library file (relative to the kit root), by name in the foundation. */
const LIBRARY: Record<string, string> = {
  'contract.ts': 'contract/index.ts',
  // In a client/ folder of its own: a server-only foundation leaves it out of its type check (it needs React's types).
  'client/contract.ts': 'client/contract.ts',
  'http-error.ts': 'foundation-lib/http-error.ts',
  'plugin-router.ts': 'foundation-lib/plugin-router.ts',
  'tenant-directory.ts': 'foundation-lib/tenant-directory.ts',
  'registries.ts': 'foundation-lib/registries.ts',
  'test-host.ts': 'foundation-lib/test-host.ts',
};
/** `ctx.cron`: placed once a module that schedules jobs is vendored (croner comes with it), kept from then on. */
const CRON_LIBRARY: Record<string, string> = {
  'plugin-cron.ts': 'foundation-lib/plugin-cron.ts',
  'cron-scheduler.ts': 'foundation-lib/cron-scheduler.ts',
  'run-locks.ts': 'foundation-lib/run-locks.ts',
  'run-leases.ts': 'foundation-lib/run-leases.ts',
  'cron-session.ts': 'foundation-lib/cron-session.ts',
  'migration-readiness.ts': 'foundation-lib/migration-readiness.ts',
};
/** What the cron files need at run time, besides what the rest of the library does. */
const CRON_DEPENDENCIES = ['croner'];
/** A library file whose presence says the foundation has cron support (a vendoring of an older kit placed it without plugin-cron.ts). */
export const CRON_MARKER = `${LIB_DIR}/cron-scheduler.ts`;

/** What the library needs at run time in a foundation (the kit's package.json, `foundationModule.libraryDependencies`). */
export function libraryDependencies({ cron }: Pick<PlaceOptions, 'cron'>): Record<string, string> {
  return Object.fromEntries(Object.entries(KIT_PACKAGE.foundationModule.libraryDependencies).filter(([name]) => cron || !CRON_DEPENDENCIES.includes(name)));
}

export class VendorLayoutError extends Error {
  override name = 'VendorLayoutError';
}

export interface PlacedFile {
  /** Relative to the foundation root, with `/`. */
  target: string;
  content: string;
}

/** What a vendoring places: with the module's client code (its pages, for a foundation with React), or without; with cron support or without. */
export interface PlaceOptions {
  client: boolean;
  cron: boolean;
}

/** The kit-owned library files, their imports pointing at each other. */
export function libraryFiles({ client, cron }: PlaceOptions): PlacedFile[] {
  const library = { ...LIBRARY, ...(cron ? CRON_LIBRARY : {}) };
  return Object.entries(library).filter(([name]) => client || !name.startsWith('client/')).map(([name, source]) => {
    const target = `${LIB_DIR}/${name}`;
    return { target, content: rewriteImports(read(vendoredSource(source)), target, source) };
  });
}

/**
 * The maintainer's files as the kit first writes them, the foundation's own from then on: the
 * bindings, and the test bindings (how the kit's test host starts this foundation).
 */
export function maintainerFiles(): PlacedFile[] {
  return [
    { target: BINDINGS_FILE, content: read(vendoredSource('foundation-lib/bindings.ts')) },
    { target: TEST_BINDINGS_FILE, content: read(vendoredSource('foundation-lib/test-bindings.ts')) },
  ];
}


/** The module's files in the foundation, and its adapter (`server/routes/index.ts`). */
export function moduleFiles(moduleDir: string, id: string, { client }: Pick<PlaceOptions, 'client'>): PlacedFile[] {
  const placed: PlacedFile[] = [];
  for (const dir of SHIPPED_DIRS.filter((shipped) => client || shipped !== 'client')) {
    for (const relative of walk(moduleDir, dir)) {
      const target = modulePath(id, relative);
      const text = read(path.join(moduleDir, relative));
      placed.push({ target, content: /\.tsx?$/.test(relative) && !/\.d\.ts$/.test(relative) ? rewriteImports(text, target, relative, id) : text });
    }
  }
  // The module's adapter, as the generator wrote it (the kit's, for a module made before it did).
  const own = path.join(moduleDir, ADAPTER_FILE);
  const hasOwn = fs.existsSync(own) || fs.lstatSync(own, { throwIfNoEntry: false }) !== undefined;
  if (hasOwn && !fs.lstatSync(own).isFile()) throw new VendorLayoutError(`${own} is not a plain file: vendoring copies files only. Replace it with the file itself.`);
  const adapter = read(hasOwn ? own : path.join(KIT_ROOT, 'template', 'module', ADAPTER_FILE));
  const target = modulePath(id, 'server/routes/index.ts');
  placed.push({ target, content: rewriteImports(adapter, target, ADAPTER_FILE, id) });
  return placed;
}

/**
 * Whether the module schedules jobs: a call of `cron.register(` in its server code as placed (`ctx.cron.register`,
 * or a `cron` taken from ctx). A module that hides the call otherwise gets, in the foundation, an
 * error at its first `register` naming what to do.
 */
export function usesCron(placed: PlacedFile[], id: string): boolean {
  const server = [modulePath(id, 'plugin/'), modulePath(id, 'shared/')];
  return placed.some(({ target, content }) => server.some((dir) => target.startsWith(dir)) && /\.tsx?$/.test(target) && /\bcron\s*\.\s*register\s*\(/.test(content));
}

/** Files under `dir` of the module, relative to the module; a symlink is refused (it could point anywhere). */
function walk(moduleDir: string, dir: string): string[] {
  const root = path.join(moduleDir, dir);
  if (!fs.existsSync(root)) return [];
  const found: string[] = [];
  const visit = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(moduleDir, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isSymbolicLink()) throw new VendorLayoutError(`${path.join(moduleDir, child)} is a symbolic link: vendoring copies files only. Replace it with the file itself.`);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) visit(child);
      } else if (entry.isFile() && SHIPPED_EXTENSIONS.test(entry.name)) found.push(child);
    }
  };
  if (fs.lstatSync(root).isSymbolicLink()) throw new VendorLayoutError(`${root} is a symbolic link: vendoring copies files only.`);
  visit(dir);
  return found.sort();
}

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\2/g;

/**
 * The file's imports as they must read at `target`: the kit's type entries become the library's
 * copies, and the module's `@client/*` alias a relative path. Any other import of the kit is kit
 * runtime code, which a foundation doesn't have: refused, naming the file.
 */
export function rewriteImports(text: string, target: string, source: string, id?: string): string {
  const relativeTo = (to: string) => {
    const relative = path.posix.relative(path.posix.dirname(target), to);
    return relative.startsWith('.') ? relative : `./${relative}`;
  };
  return text.replace(SPECIFIER, (whole, lead: string, quote: string, specifier: string) => {
    let rewritten: string | undefined;
    if (specifier === 'create-foundation-module/contract') rewritten = relativeTo(`${LIB_DIR}/contract.ts`);
    else if (specifier === 'create-foundation-module/foundation') rewritten = relativeTo(`${LIB_DIR}/plugin-router.ts`);
    else if (specifier === 'create-foundation-module/foundation/bindings') rewritten = relativeTo(BINDINGS_FILE);
    else if (specifier === 'create-foundation-module/client') rewritten = relativeTo(`${LIB_DIR}/client/contract.ts`);
    else if (specifier === 'create-foundation-module' || specifier.startsWith('create-foundation-module/')) {
      throw new VendorLayoutError(`${source} imports "${specifier}", the kit's runtime code, which a foundation does not have. ` +
        "Plugin code may import only the contract's types (import type … from 'create-foundation-module/contract').");
    } else if (id && specifier.startsWith('@client/')) rewritten = relativeTo(modulePath(id, `client/src/${specifier.slice('@client/'.length)}`));
    return rewritten === undefined ? whole : `${lead}${quote}${rewritten}${quote}`;
  });
}

function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}
