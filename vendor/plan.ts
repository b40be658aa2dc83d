/**
 * What vendoring a module into a foundation would do, decided before anything is written: each
 * file CREATE, UPDATE (untouched since the last vendoring), SKIP (already so, or the foundation's
 * own bindings), CONFLICT (edited in the foundation, or a file there vendoring didn't write) or
 * DELETE (no longer part of the module, untouched); and the dependency changes. `--dry-run` prints
 * this plan; apply.ts carries it out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pluginIdProblem } from '../rules/index.ts';
import { MODULE_MANIFEST, ModuleCatalogError, readModuleCatalog } from '../sandbox/plugins/catalog.ts';
import { mergeDependencies, pinsExactVersions, type DependencyChange } from './dependencies.ts';
import { CRON_MARKER, LIB_DIR, libraryDependencies, maintainerFiles, libraryFiles, modulePath, moduleFiles, usesCron, type PlacedFile } from './layout.ts';
import { checksum, MANIFEST_NAME, readManifest, type VendorManifest } from './manifest.ts';

export type FileStatus = 'CREATE' | 'UPDATE' | 'SKIP' | 'CONFLICT' | 'DELETE';

export interface FileAction {
  target: string;
  status: FileStatus;
  /** Why, for SKIP and CONFLICT. */
  reason?: string;
  /** What vendoring would write (none for DELETE). */
  content?: string;
  /** What the foundation holds now, if anything. */
  current?: string;
}

export interface VendorPlan {
  id: string;
  version: string;
  moduleDir: string;
  root: string;
  files: FileAction[];
  /** Whether the module's client code is placed (see PlanOptions.client). */
  client: boolean;
  dependencies: DependencyChange[];
  /** The manifests to write once the files are in place. */
  manifests: { target: string; manifest: VendorManifest }[];
}

export class VendorError extends Error {
  override name = 'VendorError';
}

export interface PlanOptions {
  moduleDir: string;
  into: string;
  kitVersion: string;
  /** Place the module's client code (client/). @default whether the foundation depends on React */
  client?: boolean;
}

export async function planVendoring({ moduleDir, into, kitVersion, client }: PlanOptions): Promise<VendorPlan> {
  const source = path.resolve(moduleDir);
  const root = path.resolve(into);
  checkModule(source);
  const foundationPackage = checkFoundation(root, source);
  const catalog = await readModuleCatalog(source).catch((error: unknown) => {
    throw error instanceof ModuleCatalogError ? loadRefusal(source, error) : error;
  });
  if (catalog?.source === 'manifest') {
    throw new VendorError(`Module ${source} has a ${MODULE_MANIFEST}, which operator commands read instead of its code; vendor reads module.config.ts from the code itself. ` +
      `Vendor from the module's source folder as its author keeps it (without ${MODULE_MANIFEST}).`);
  }
  if (!catalog?.moduleConfig) throw new VendorError(`Module ${source} has no module.config.ts with a default export (its id, name, version, nav…): vendor places the module from it. Add it as npm create foundation-module writes it.`);
  const { id, version } = catalog;
  if (pluginIdProblem(id)) throw new VendorError(`Module ${source} has the id ${JSON.stringify(id)}, which ${pluginIdProblem(id)}.`);
  const modulePackage = readJson(path.join(source, 'package.json'));

  const moduleManifestTarget = modulePath(id, MANIFEST_NAME);
  const libManifestTarget = `${LIB_DIR}/${MANIFEST_NAME}`;
  const previous = readManifest(root, moduleManifestTarget);
  const previousLib = readManifest(root, libManifestTarget);
  // A server-only foundation (no React) gets no client code: its type check stays as it is.
  const withClient = client ?? dependsOnReact(foundationPackage);
  // Cron support (croner among the dependencies) once a module schedules jobs; kept for the modules vendored before.
  const moduleWanted = [...moduleFiles(source, id, { client: withClient }), serverSafeConfig(id, catalog.moduleConfig)];
  const withCron = usesCron(moduleWanted, id) || previousLib?.files[CRON_MARKER] !== undefined;
  const libWanted = libraryFiles({ client: withClient, cron: withCron });
  checkIdFree(root, id, previous, moduleWanted);

  for (const file of [...moduleWanted, ...libWanted, ...maintainerFiles()]) checkInside(root, file.target);
  const files = [
    ...statuses(root, libWanted, previousLib),
    ...maintainerFiles().map((file) => maintainerAction(root, file)),
    ...statuses(root, moduleWanted, previous),
    ...staleTemporaries(root, id).map((target): FileAction => ({ target, status: 'DELETE', reason: 'a temporary file left by an interrupted vendoring' })),
  ];
  const record = (wanted: PlacedFile[]) => Object.fromEntries(wanted.map((file) => [file.target, checksum(file.content)]));
  return {
    id, version, moduleDir: source, root, files, client: withClient,
    dependencies: mergeDependencies(foundationPackage.dependencies as Record<string, string>, { ...libraryDependencies({ cron: withCron }), ...(modulePackage.dependencies as Record<string, string>) },
      { exact: pinsExactVersions(root, foundationPackage.dependencies as Record<string, string>) }),
    manifests: [
      { target: libManifestTarget, manifest: { id: 'foundation-module', kitVersion, files: record(libWanted) } },
      { target: moduleManifestTarget, manifest: { id, version, kitVersion, files: record(moduleWanted) } },
    ],
  };
}

function dependsOnReact(pkg: Record<string, unknown>): boolean {
  return ['dependencies', 'devDependencies', 'peerDependencies'].some((field) => Object.hasOwn((pkg[field] as Record<string, string> | undefined) ?? {}, 'react'));
}

function statuses(root: string, wanted: PlacedFile[], previous: VendorManifest | undefined): FileAction[] {
  const actions = wanted.map(({ target, content }): FileAction => {
    const current = readIfFile(root, target);
    if (current === undefined) return { target, status: 'CREATE', content };
    if (current === content) return { target, status: 'SKIP', reason: 'unchanged', content, current };
    if (previous?.files[target] === checksum(current)) return { target, status: 'UPDATE', content, current };
    const reason = previous?.files[target] ? 'edited in the foundation since it was vendored' : 'a file vendoring did not write is there';
    return { target, status: 'CONFLICT', reason, content, current };
  });
  const kept = new Set(wanted.map((file) => file.target));
  for (const [target, sum] of Object.entries(previous?.files ?? {})) {
    const current = kept.has(target) ? undefined : readIfFile(root, target);
    if (current === undefined) continue;
    actions.push(checksum(current) === sum ? { target, status: 'DELETE', current }
      : { target, status: 'CONFLICT', reason: 'no longer part of the module, but edited in the foundation', current });
  }
  return actions;
}

/** The bindings and the test bindings: written when missing, never rewritten. */
function maintainerAction(root: string, { target, content }: PlacedFile): FileAction {
  const current = readIfFile(root, target);
  return current === undefined ? { target, status: 'CREATE', content }
    : { target, status: 'SKIP', reason: "the foundation's own (vendoring never rewrites it)", current };
}

/** The module's config as data: no import of its client code, which a server-only host can't compile. */
function serverSafeConfig(id: string, config: Record<string, unknown>): PlacedFile {
  const content = `// Written by foundation-module vendor from the module's module.config.ts, its client menu resolved,
// so that a server-only host reads it without the module's client code. Rewritten by each vendoring.
import type { ModuleConfig } from '../../lib/foundation-module/contract.ts';

export default ${JSON.stringify(config, null, 2)} satisfies ModuleConfig;
`;
  return { target: modulePath(id, 'module.config.ts'), content };
}

/**
 * Why the module's code did not load, said so that the maintainer can act: module.config.ts is
 * computed by code (its menu, its role templates), so vendoring runs it, with the module's packages.
 */
function loadRefusal(source: string, error: ModuleCatalogError): VendorError {
  const before = `The code of module ${source} could not be loaded to read its module.config.ts`;
  const missing = /Cannot find package '([^']+)'/.exec(error.message)?.[1];
  if (missing) {
    const installed = fs.existsSync(path.join(source, 'node_modules'));
    return new VendorError(`${before}: the package "${missing}" it imports is not installed${installed ? '' : ' (the module has no node_modules)'}. ` +
      `Run npm install in ${source}, then vendor again.`);
  }
  return new VendorError(`${before}: ${error.message.replace(/\.?\s*$/, '')}. Fix the module (its npm test shows the same error), then vendor again.`);
}

function checkModule(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new VendorError(`${dir} is not a folder: name the module's folder (the one holding module.config.ts and plugin/index.ts).`);
  const missing = ['package.json', 'plugin/index.ts'].filter((file) => !fs.existsSync(path.join(dir, file)));
  if (missing.length) throw new VendorError(`${dir} is not a module: it has no ${missing.join(' and no ')}. Name a folder made by npm create foundation-module.`);
}

function checkFoundation(root: string, moduleDir: string): Record<string, unknown> {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new VendorError(`--into ${root} is not a folder: name the foundation's root (the folder holding its package.json and src/).`);
  const missing = ['package.json', 'src'].filter((file) => !fs.existsSync(path.join(root, file)));
  if (missing.length) throw new VendorError(`--into ${root} is not a foundation: it has no ${missing.join(' and no ')}. Name the foundation's root folder.`);
  const inside = (child: string, parent: string) => !path.relative(parent, child).startsWith('..');
  if (inside(root, moduleDir) || inside(moduleDir, root)) throw new VendorError(`The module ${moduleDir} and the foundation ${root} must be separate folders, neither inside the other.`);
  return readJson(path.join(root, 'package.json'));
}

/**
 * `src/modules/<id>/` of another module: a folder there without this module's manifest. A folder
 * holding only files this vendoring would write identically, and temporary files, is one an
 * interrupted vendoring left.
 */
function checkIdFree(root: string, id: string, previous: VendorManifest | undefined, wanted: PlacedFile[]): void {
  const dir = path.join(root, modulePath(id));
  if (previous || !fs.existsSync(dir)) return;
  const ours = new Map(wanted.map((file) => [file.target, file.content]));
  const foreign = listAll(dir).map((file) => path.posix.join(modulePath(id), file))
    .filter((target) => !TEMPORARY.test(target) && ours.get(target) !== readIfFile(root, target));
  if (foreign.length) {
    throw new VendorError(`${modulePath(id)}/ already holds another module (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''} were not written by vendoring). ` +
      'Module ids are unique in a foundation: remove that folder, or rename one of the modules.');
  }
}

/** Where apply.ts writes `file` (by process `pid`) before renaming it over the file. */
export const temporaryOf = (file: string, pid: number) => `${file}.${pid}.vendoring`;
const TEMPORARY = /\.(\d+)\.vendoring$/;

/**
 * The temporary files of a vendoring killed part-way (SIGKILL, a power cut: no clean-up ran) in
 * the folders vendoring writes to, relative to the root: planned as DELETE. Those of another
 * process still running are left alone; this one has written nothing yet.
 */
function staleTemporaries(root: string, id: string): string[] {
  const found = fs.readdirSync(root).filter((name) => name.startsWith('package.json.'));
  for (const dir of [LIB_DIR, modulePath(id)]) {
    if (fs.existsSync(path.join(root, dir)) && fs.statSync(path.join(root, dir)).isDirectory()) {
      found.push(...listAll(path.join(root, dir)).map((file) => path.posix.join(dir, file)));
    }
  }
  return found.filter((target) => {
    const pid = TEMPORARY.exec(target)?.[1];
    return pid !== undefined && (Number(pid) === process.pid || !isAlive(Number(pid)));
  }).sort();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuses a target whose existing folders lead out of the foundation through a symbolic link. */
function checkInside(root: string, target: string): void {
  let at = root;
  for (const part of target.split('/')) {
    at = path.join(at, part);
    if (!fs.existsSync(at) && !isSymlink(at)) return;
    if (isSymlink(at)) throw new VendorError(`${at} is a symbolic link: vendoring writes only inside the foundation's own folders. Replace the link with a folder.`);
  }
}

const isSymlink = (file: string) => {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
};

function readIfFile(root: string, target: string): string | undefined {
  const file = path.join(root, target);
  return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined;
}

function listAll(dir: string, relative = ''): string[] {
  return fs.readdirSync(path.join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
    const child = path.posix.join(relative, entry.name);
    return entry.isDirectory() ? listAll(dir, child) : [child];
  });
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new VendorError(`${file} is not valid JSON (${(error as Error).message}): fix it first.`);
  }
}
