/**
 * Carries out a vendoring plan (plan.ts). Refuses, writing nothing, while there are conflicts and
 * no `force`. Each file is written whole (a temporary file renamed over it), package.json next and
 * the manifests last: a vendoring killed part-way leaves files that are each old or new, never
 * half-written, and the same command run again finds the new ones already so (SKIP), removes the
 * temporary files the killed run left (plan.ts plans them as DELETE) and finishes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { manifestText } from './manifest.ts';
import { temporaryOf, VendorError, type FileAction, type VendorPlan } from './plan.ts';

export interface VendorResult {
  written: string[];
  deleted: string[];
  /** Dependencies added to the foundation's package.json: run its install. */
  added: string[];
  /** Conflicts overwritten (files) or kept at the foundation's version (dependencies), under --force. */
  forced: string[];
}

export function conflictsOf(plan: VendorPlan): string[] {
  return [
    ...plan.files.filter((file) => file.status === 'CONFLICT').map((file) => `${file.target}: ${file.reason}`),
    ...plan.dependencies.filter((dep) => dep.kind === 'conflict')
      .map((dep) => `dependency ${dep.name}: the module needs ${dep.wanted}, the foundation has ${dep.present} (another major version)`),
  ];
}

export function applyVendoring(plan: VendorPlan, { force = false } = {}): VendorResult {
  steps = 0;
  const conflicts = conflictsOf(plan);
  if (conflicts.length && !force) {
    throw new VendorError(`Nothing was written: ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}:\n  ${conflicts.join('\n  ')}\n` +
      'Keep the foundation\'s edits somewhere else (or merge them into the module), then vendor again with --force to overwrite; --dry-run shows the differences.');
  }
  const writes = plan.files.filter((file): file is FileAction & { content: string } =>
    file.content !== undefined && (file.status === 'CREATE' || file.status === 'UPDATE' || file.status === 'CONFLICT'));
  for (const file of writes) writeWhole(path.join(plan.root, file.target), file.content);
  const deletes = plan.files.filter((file) => file.status === 'DELETE');
  for (const file of deletes) {
    fs.rmSync(path.join(plan.root, file.target), { force: true });
    step(`deleted ${file.target}`);
  }

  const added = plan.dependencies.filter((dep) => dep.kind === 'add');
  if (added.length) {
    const file = path.join(plan.root, 'package.json');
    const text = fs.readFileSync(file, 'utf8');
    const pkg = JSON.parse(text) as { dependencies?: Record<string, string> };
    const dependencies = { ...pkg.dependencies, ...Object.fromEntries(added.map((dep) => [dep.name, dep.wanted])) };
    pkg.dependencies = Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b)));
    writeWhole(file, `${JSON.stringify(pkg, null, indentOf(text))}\n`);
  }
  for (const { target, manifest } of plan.manifests) writeWhole(path.join(plan.root, target), manifestText(manifest));
  return {
    written: writes.map((file) => file.target),
    deleted: deletes.map((file) => file.target),
    added: added.map((dep) => `${dep.name}@${dep.wanted}`),
    forced: force ? conflicts : [],
  };
}

function writeWhole(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = temporaryOf(file, process.pid);
  try {
    fs.writeFileSync(temporary, content);
    step(`wrote ${temporary}`);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  step(`renamed ${file}`);
}

/**
 * Test-only (test/vendor-kill.test.ts): with FOUNDATION_MODULE_VENDOR_PAUSE_AFTER=<n> set, the
 * process says so on stderr and blocks for good after its n-th step (a temporary file written, a
 * file renamed into place, a file deleted), to be killed there with SIGKILL. Unset, nothing.
 */
let steps = 0;
function step(what: string): void {
  if (++steps !== Number(process.env.FOUNDATION_MODULE_VENDOR_PAUSE_AFTER)) return;
  fs.writeSync(2, `vendor: paused after step ${steps}: ${what}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** The foundation's package.json keeps its own indentation. */
function indentOf(text: string): string | number {
  return /^\{\r?\n([ \t]+)"/.exec(text)?.[1] ?? 2;
}
