/**
 * One path for every generator run, real or dry: copy the module into a staging folder, run the
 * plop generator there, compare the staging folder with the module, and only then (unless
 * `dryRun`) write the differences, all or nothing. A failing action therefore never leaves a
 * half-written module, and `--dry-run` shows exactly what a real run would write.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { IGNORED, listFiles } from './files.ts';
import { createPlop, type ActionOutcome } from './plop.ts';

export interface FileChange {
  /** Relative to the module, with `/`. */
  path: string;
  /** CREATE: new file. UPDATE: changed file. SKIP: left as it is. */
  kind: 'CREATE' | 'UPDATE' | 'SKIP';
  /** Why a SKIP was skipped. */
  reason?: string;
  before?: string;
  after?: string;
}

export interface GenerateOptions {
  /** Generator name: `module`, `entity`, `migration`, `permission` or `page`. */
  generator: string;
  /** Answers handed to the generator's actions and templates. */
  answers: object;
  /** The module folder: created for `module`, edited for the others. */
  moduleDir: string;
  /** List the changes, write nothing. @default false */
  dryRun?: boolean;
}

export class GenerateError extends Error {
  override readonly name = 'GenerateError';
}

/** Plans the generator's changes to `moduleDir`, then writes them unless `dryRun`. */
export async function generate({ generator, answers, moduleDir, dryRun = false }: GenerateOptions): Promise<FileChange[]> {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'foundation-module-staging-'));
  try {
    if (fs.existsSync(moduleDir)) {
      removeStaleTemps(moduleDir);
      stageTree(moduleDir, staging);
    }
    const outcomes: ActionOutcome[] = [];
    const plop = await createPlop(staging, outcomes);
    const { failures } = await plop.getGenerator(generator).runActions(answers);
    if (failures.length > 0) {
      const first = failures[0]! as { path?: string; error?: string; message?: string };
      throw new GenerateError(first.error ?? first.message ?? String(first));
    }
    const changes = planChanges(moduleDir, staging, outcomes);
    if (!dryRun) applyChanges(moduleDir, changes);
    return changes;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** One entry per file an action touched, in the order the actions ran. */
export function planChanges(moduleDir: string, staging: string, outcomes: ActionOutcome[]): FileChange[] {
  const seen = new Map<string, FileChange>();
  for (const { path: file, outcome } of outcomes) {
    const after = fs.readFileSync(path.join(staging, file), 'utf8');
    const original = path.join(moduleDir, file);
    const before = fs.existsSync(original) ? fs.readFileSync(original, 'utf8') : undefined;
    let change: FileChange;
    if (before === undefined) change = { path: file, kind: 'CREATE', after };
    else if (before !== after) change = { path: file, kind: 'UPDATE', before, after };
    else change = { path: file, kind: 'SKIP', reason: outcome === 'kept' ? 'exists, yours kept' : 'unchanged' };
    seen.set(file, change);
  }
  return [...seen.values()];
}

/**
 * Writes CREATE and UPDATE changes. Each file goes to a temporary sibling first; only when every
 * one is written are they renamed into place. A file reached through a symlink is written at the
 * link's real path, so the link stays. On any failure the module is put back as it was: new files
 * and folders removed, updated files restored.
 */
export function applyChanges(moduleDir: string, changes: FileChange[]): void {
  const writes = changes.filter((c) => c.kind !== 'SKIP');
  const madeDirs: string[] = [];
  const targets: string[] = [];
  const temps: string[] = [];
  const renamed: { change: FileChange; target: string }[] = [];
  try {
    for (const change of writes) {
      const target = realTarget(path.join(moduleDir, change.path));
      targets.push(target);
      madeDirs.push(...makeDirs(path.dirname(target)));
      const temp = `${target}${TEMP_SUFFIX(process.pid)}`;
      temps.push(temp);
      fs.writeFileSync(temp, change.after!);
    }
    writes.forEach((change, i) => {
      fs.renameSync(temps[i]!, targets[i]!);
      renamed.push({ change, target: targets[i]! });
    });
  } catch (error) {
    const undo = (step: () => void) => {
      try {
        step();
      } catch {
        // The temp file of the failed write may never have existed; keep undoing the rest.
      }
    };
    for (const temp of temps) undo(() => fs.rmSync(temp, { force: true }));
    for (const { change, target } of renamed) {
      undo(() => (change.kind === 'CREATE' ? fs.rmSync(target, { force: true }) : fs.writeFileSync(target, change.before!)));
    }
    for (const dir of madeDirs.reverse()) undo(() => fs.rmSync(dir, { recursive: true, force: true }));
    throw new GenerateError(`Nothing was written: ${(error as Error).message}`, { cause: error });
  }
}

/** The temporary sibling of a file being written by process `pid`. */
const TEMP_SUFFIX = (pid: number) => `.fm-generate-${pid}.tmp`;
const TEMP_FILE = /\.fm-generate-(\d+)\.tmp$/;

/**
 * A run killed while writing (SIGKILL, a power cut) leaves its temporary files beside the module's
 * own; no rollback ran. The next run removes those of processes that are gone, so that running the
 * same command again finishes the job and leaves nothing behind.
 */
function removeStaleTemps(moduleDir: string): void {
  for (const file of listFiles(moduleDir)) {
    const pid = TEMP_FILE.exec(file)?.[1];
    if (pid && !isAlive(Number(pid))) fs.rmSync(path.join(moduleDir, file), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `dir` and its missing parents; returns the ones it created, outermost first. */
function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  if (missing.length > 0) fs.mkdirSync(dir, { recursive: true });
  return missing;
}

/**
 * Copies the module into the staging folder with every symlink replaced by a real copy of what it
 * points at: plop writes into the staging folder, and a copied link would let those writes reach
 * the link's target (and a dry run would write after all). A link to a folder that holds it (a
 * cycle) is left out, and so is a broken link.
 */
function stageTree(from: string, to: string, within: string[] = []): void {
  const real = fs.realpathSync(from);
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (IGNORED.has(entry.name)) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    const stat = entry.isSymbolicLink() ? statOrUndefined(source) : undefined;
    if (entry.isDirectory() || stat?.isDirectory()) {
      const linked = fs.realpathSync(source);
      const cycle = [...within, real].some((dir) => isInside(dir, linked));
      if (!cycle) stageTree(source, target, [...within, real]);
    } else if (entry.isFile() || stat?.isFile()) {
      fs.writeFileSync(target, fs.readFileSync(source));
    }
  }
}

/** Whether `dir` is `parent` or inside it. */
function isInside(dir: string, parent: string): boolean {
  const relative = path.relative(parent, dir);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Where a write to `file` lands: through a symlink (the file itself, or a folder on its way) to the
 * real path, so that the author's link stays a link. Missing folders are kept as they are, to be made.
 */
function realTarget(file: string): string {
  const missing: string[] = [];
  let existing = file;
  while (!fs.existsSync(existing)) {
    if (isSymlink(existing)) throw new Error(`${existing} is a symlink to something missing; restore its target or remove the link`);
    missing.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(fs.realpathSync(existing), ...missing);
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The plan as the author reads it: one line per file, and with `diffs` the patch of each UPDATE. */
export function formatChanges(changes: FileChange[], { diffs = false } = {}): string {
  const lines: string[] = [];
  for (const change of changes) {
    lines.push(`${change.kind.padEnd(6)} ${change.path}${change.reason ? `  (${change.reason})` : ''}`);
    if (diffs && change.kind === 'UPDATE') {
      const patch = createTwoFilesPatch(`a/${change.path}`, `b/${change.path}`, change.before!, change.after!, undefined, undefined, { context: 2 });
      lines.push(...patch.split('\n').filter((l) => l && !/^=+$/.test(l)).map((l) => `       ${l.trimEnd()}`));
    }
  }
  return lines.join('\n');
}
