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
import { IGNORED } from './files.ts';
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
    if (fs.existsSync(moduleDir)) copyTree(moduleDir, staging);
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
 * one is written are they renamed into place. On any failure the module is put back as it was:
 * new files and folders removed, updated files restored.
 */
export function applyChanges(moduleDir: string, changes: FileChange[]): void {
  const writes = changes.filter((c) => c.kind !== 'SKIP');
  const madeDirs: string[] = [];
  const temps: string[] = [];
  const renamed: FileChange[] = [];
  try {
    for (const change of writes) {
      const target = path.join(moduleDir, change.path);
      madeDirs.push(...makeDirs(path.dirname(target)));
      const temp = `${target}.${process.pid}.tmp`;
      temps.push(temp);
      fs.writeFileSync(temp, change.after!);
    }
    writes.forEach((change, i) => {
      fs.renameSync(temps[i]!, path.join(moduleDir, change.path));
      renamed.push(change);
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
    for (const change of renamed) {
      const target = path.join(moduleDir, change.path);
      undo(() => (change.kind === 'CREATE' ? fs.rmSync(target, { force: true }) : fs.writeFileSync(target, change.before!)));
    }
    for (const dir of madeDirs.reverse()) undo(() => fs.rmSync(dir, { recursive: true, force: true }));
    throw new GenerateError(`Nothing was written: ${(error as Error).message}`, { cause: error });
  }
}

/** Creates `dir` and its missing parents; returns the ones it created, outermost first. */
function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  if (missing.length > 0) fs.mkdirSync(dir, { recursive: true });
  return missing;
}

function copyTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, filter: (src) => !IGNORED.has(path.basename(src)) || src === from });
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
