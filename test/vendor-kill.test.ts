/**
 * `foundation-module vendor` killed part-way (SIGKILL: nothing cleans up), at chosen steps of its
 * writing: a temporary file written, a file renamed into place, a file deleted, package.json, each
 * manifest. After each kill, `--dry-run` shows what is left to do and writes nothing, and the same
 * command run again (no --force) exits 0 and leaves the foundation exactly as one uninterrupted
 * vendoring does: nothing lost, nothing done twice (package.json's dependencies merged once), no
 * temporary file left behind. Once for a first vendoring, once for vendoring a changed module again.
 *
 * The steps are reached with vendor/apply.ts's test-only FOUNDATION_MODULE_VENDOR_PAUSE_AFTER=<n>:
 * the CLI announces its n-th step on stderr and blocks there until killed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planVendoring, type VendorPlan } from '../vendor/plan.ts';
import { copyReferenceFoundation, REPO_ROOT, vendor, withReact } from './helpers/reference-foundation.ts';

const CLI = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const WAREHOUSE = path.join(REPO_ROOT, 'examples/warehouse');
const KIT_VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TEMPORARY = /\.\d+\.vendoring$/;
const LEFTOVER = '(a temporary file left by an interrupted vendoring)';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** The reference foundation with React among its dependencies: vendoring places the module's client code too. */
function freshFoundation(): string {
  const copy = copyReferenceFoundation();
  made.push(copy);
  withReact(copy);
  return copy;
}

/** A copy of a foundation (its node_modules the kit's, as copyReferenceFoundation links them). */
function cloneFoundation(from: string): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'vendored-foundation-'));
  made.push(copy);
  fs.cpSync(from, copy, { recursive: true, filter: (src) => src !== path.join(from, 'node_modules') });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/** Every file of the foundation but node_modules, by sha256 of its content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (child === 'node_modules') continue;
      if (entry.isSymbolicLink()) out[child] = `-> ${fs.readlinkSync(path.join(dir, child))}`;
      else if (entry.isDirectory()) visit(child);
      else out[child] = createHash('sha256').update(fs.readFileSync(path.join(dir, child))).digest('hex');
    }
  };
  visit('');
  return out;
}

/** The files that differ between two snapshots, each with how: what "exactly the same" lists. */
function differences(actual: Record<string, string>, expected: Record<string, string>): string[] {
  return [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort().flatMap((file) => {
    if (!(file in expected)) return [`${file}: not written by an uninterrupted run`];
    if (!(file in actual)) return [`${file}: missing`];
    return actual[file] === expected[file] ? [] : [`${file}: another content`];
  });
}

/** The CLI run to its end, as a maintainer runs it. */
function vendorCli(module: string, root: string, ...flags: string[]) {
  const run = spawnSync(process.execPath, [CLI, 'vendor', module, '--into', root, ...flags], { encoding: 'utf8', env: { ...process.env, FOUNDATION_MODULE_VENDOR_PAUSE_AFTER: '' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, lines: run.stdout.split('\n').filter(Boolean) };
}

/** The CLI paused after its `step`-th step, then SIGKILLed there; returns what it announced. */
async function killedAfter(step: number, module: string, root: string): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'vendor', module, '--into', root], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FOUNDATION_MODULE_VENDOR_PAUSE_AFTER: String(step) },
  });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    if (/vendor: paused after step \d+: .*\n/.test(stderr) && child.exitCode === null) child.kill('SIGKILL');
  });
  await exited;
  expect(child.signalCode, `killed while paused, not finished: ${stderr}`).toBe('SIGKILL');
  return /vendor: paused after step \d+: (.*)\n/.exec(stderr)![1]!;
}

interface Step {
  /** 1-based, as FOUNDATION_MODULE_VENDOR_PAUSE_AFTER counts. */
  n: number;
  kind: 'wrote' | 'renamed' | 'deleted';
  target: string;
}

/**
 * The steps apply.ts takes for `plan`, in its order: each file written (a temporary file, then
 * renamed over it), each deletion, package.json when a dependency is added, the two manifests.
 */
function stepsOf(plan: VendorPlan): Step[] {
  const targets = {
    writes: plan.files.filter((file) => file.content !== undefined && ['CREATE', 'UPDATE', 'CONFLICT'].includes(file.status)).map((file) => file.target),
    deletes: plan.files.filter((file) => file.status === 'DELETE').map((file) => file.target),
    after: [...(plan.dependencies.some((dep) => dep.kind === 'add') ? ['package.json'] : []), ...plan.manifests.map((m) => m.target)],
  };
  const steps: Omit<Step, 'n'>[] = [
    ...targets.writes.flatMap((target) => [{ kind: 'wrote' as const, target }, { kind: 'renamed' as const, target }]),
    ...targets.deletes.map((target) => ({ kind: 'deleted' as const, target })),
    ...targets.after.flatMap((target) => [{ kind: 'wrote' as const, target }, { kind: 'renamed' as const, target }]),
  ];
  return steps.map((step, i) => ({ ...step, n: i + 1 }));
}

/** What the killed CLI said it had just done, checked against the step the test meant. */
function expectAnnounced(announced: string, step: Step, root: string): void {
  const file = path.join(root, step.target);
  if (step.kind === 'wrote') expect(announced).toMatch(new RegExp(`^wrote ${escape(file)}\\.\\d+\\.vendoring$`));
  else expect(announced).toBe(`${step.kind} ${step.kind === 'deleted' ? step.target : file}`);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `--dry-run`'s line for a file: status, target, and the reason in parentheses. */
const lineOf = (lines: string[], target: string) => lines.find((line) => line.slice(9).split('  (')[0] === target);

/**
 * After a kill: --dry-run writes nothing and lists, with no conflict, every step done as SKIP (a
 * deleted file no longer listed), every step left as the status an uninterrupted run gave it, and
 * the killed run's temporary file as DELETE; then the real run ends as the uninterrupted one did.
 */
async function killThenFinish(options: { module: string; base: () => string; steps: Step[]; at: Step; expected: Record<string, string>; statuses: Map<string, string> }) {
  const { module, base, steps, at, expected, statuses } = options;
  const root = base();
  expectAnnounced(await killedAfter(at.n, module, root), at, root);

  const killed = snapshot(root);
  const leftovers = Object.keys(killed).filter((file) => TEMPORARY.test(file));
  expect(leftovers, 'a kill right after writing a temporary file leaves it').toHaveLength(at.kind === 'wrote' ? 1 : 0);
  const dryRun = await vendor([module, '--into', root, '--dry-run']);
  const dry = { ...dryRun, lines: dryRun.lines.flatMap((line) => line.split('\n')) };
  expect(dry.code, dry.lines.join('\n')).toBe(0);
  expect(snapshot(root), '--dry-run wrote nothing').toEqual(killed);
  expect(dry.lines.at(-1)).toBe('Dry run: nothing written.');
  expect(dry.lines.filter((line) => line.startsWith('CONFLICT'))).toEqual([]);
  for (const leftover of leftovers) expect(lineOf(dry.lines, leftover)).toBe(`DELETE   ${leftover}  ${LEFTOVER}`);
  const done = new Set(steps.filter((step) => step.n <= at.n && step.kind !== 'wrote').map((step) => step.target));
  for (const [target, status] of statuses) {
    if (target === 'package.json' || target.endsWith('/vendor.json')) continue;
    const line = lineOf(dry.lines, target);
    if (!done.has(target)) expect(line, `${target}: not reached before the kill`).toMatch(new RegExp(`^${status} +${escape(target)}`));
    else if (status === 'DELETE') expect(line, `${target}: deleted before the kill`).toBeUndefined();
    else expect(line, `${target}: in place before the kill`).toMatch(/^SKIP {5}.*\((unchanged|the foundation's own.*)\)$/);
  }
  if (statuses.has('package.json')) {
    expect(dry.lines).toContain(done.has('package.json') ? 'SKIP     dependency zod (the foundation has ^4.6.7)' : 'ADD      dependency zod@^4.6.7');
  }

  const again = vendorCli(module, root);
  expect(again.status, `${again.stdout}\n${again.stderr}`).toBe(0);
  const after = snapshot(root);
  expect(Object.keys(after).filter((file) => TEMPORARY.test(file)), 'no temporary file left').toEqual([]);
  expect(differences(after, expected), 'exactly as one uninterrupted vendoring').toEqual([]);
  const packageText = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
  expect(packageText.match(/"zod":/g), 'zod merged once').toHaveLength(1);
}

/** Each step a kill is tried at, named: the first, the last and the ones between that differ. */
function killPoints(steps: Step[], moduleId: string): { name: string; at: Step }[] {
  const find = (kind: Step['kind'], test: (target: string) => boolean) => steps.find((step) => step.kind === kind && test(step.target));
  const lastFile = steps.filter((step) => step.kind === 'renamed' && step.target !== 'package.json' && !step.target.endsWith('/vendor.json')).at(-1);
  const moduleDir = `src/modules/${moduleId}/`;
  const isManifest = (target: string) => target.endsWith('/vendor.json');
  const points = [
    { name: 'the first temporary file written, not renamed', at: steps[0] },
    { name: 'the first file in place', at: steps[1] },
    { name: 'the bindings file in place', at: find('renamed', (t) => t.endsWith('/bindings.ts')) },
    { name: "a temporary file in the module's folder", at: find('wrote', (t) => t.startsWith(moduleDir) && !isManifest(t)) },
    { name: 'half of the steps', at: steps[Math.floor(steps.length / 2)] },
    { name: 'every file in place', at: lastFile },
    { name: 'a file deleted', at: find('deleted', () => true) },
    { name: "package.json's temporary file written", at: find('wrote', (t) => t === 'package.json') },
    { name: 'package.json in place, no manifest', at: find('renamed', (t) => t === 'package.json') },
    { name: "the library's manifest in place, not the module's", at: find('renamed', (t) => t.startsWith('src/lib/') && isManifest(t)) },
    { name: "the module's manifest written as a temporary file", at: find('wrote', (t) => t.startsWith(moduleDir) && isManifest(t)) },
    { name: 'every step done, before the process exits', at: steps.at(-1) },
  ];
  const seen = new Set<number>();
  return points.filter((point): point is { name: string; at: Step } => {
    if (!point.at || seen.has(point.at.n)) return false;
    seen.add(point.at.n);
    return true;
  }).map((point) => ({ ...point, name: `${point.name} (step ${point.at.n} of ${steps.length}, ${point.at.kind} ${point.at.target})` }));
}

/** The plan's status of each target, as an uninterrupted run starts from `root`. */
function statusesOf(plan: VendorPlan): Map<string, string> {
  const statuses = new Map(plan.files.map((file) => [file.target, file.status as string]));
  if (plan.dependencies.some((dep) => dep.kind === 'add')) statuses.set('package.json', 'ADD');
  return statuses;
}

describe('foundation-module vendor killed with SIGKILL part-way', () => {
  describe('a first vendoring of examples/warehouse into the reference foundation', () => {
    let steps: Step[];
    let statuses: Map<string, string>;
    let expected: Record<string, string>;
    beforeAll(async () => {
      const probe = freshFoundation();
      const plan = await planVendoring({ moduleDir: WAREHOUSE, into: probe, kitVersion: KIT_VERSION });
      steps = stepsOf(plan);
      statuses = statusesOf(plan);
      const once = vendorCli(WAREHOUSE, probe);
      expect(once.status, once.stderr).toBe(0);
      expected = snapshot(probe);
    }, 60_000);

    it('is planned as the test expects: every file CREATE, zod added', () => {
      expect([...new Set(statuses.values())].sort()).toEqual(['ADD', 'CREATE']);
      expect(steps.length).toBeGreaterThan(40);
    });

    it('at each chosen step: --dry-run writes nothing, and a re-run ends as one uninterrupted run', async () => {
      const points = killPoints(steps, 'warehouse');
      expect(points.length).toBeGreaterThanOrEqual(10);
      const failures: string[] = [];
      await inBatches(points, 3, async ({ name, at }) => {
        try {
          await killThenFinish({ module: WAREHOUSE, base: freshFoundation, steps, at, expected, statuses });
        } catch (error) {
          failures.push(`killed after ${name}: ${(error as Error).message}`);
        }
      });
      expect(failures).toEqual([]);
    }, 180_000);
  });

  describe('vendoring a changed module again (UPDATE, CREATE and DELETE)', () => {
    let module: string;
    let vendoredOnce: string;
    let steps: Step[];
    let statuses: Map<string, string>;
    let expected: Record<string, string>;
    beforeAll(async () => {
      module = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-module-'));
      made.push(module);
      fs.cpSync(WAREHOUSE, module, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(module, 'node_modules'), 'dir');
      vendoredOnce = freshFoundation();
      const first = vendorCli(module, vendoredOnce);
      expect(first.status, first.stderr).toBe(0);

      // The author's changes: one file edited, one added, a page removed (with its route and menu).
      fs.appendFileSync(path.join(module, 'plugin/validation.ts'), '\n// a change by the module author\n');
      fs.writeFileSync(path.join(module, 'plugin/audit.ts'), 'export const audited = true;\n');
      fs.rmSync(path.join(module, 'client/src/pages/OverviewPage.tsx'));
      const manifestFile = path.join(module, 'client/manifest.ts');
      const manifest = fs.readFileSync(manifestFile, 'utf8');
      const withoutOverview = manifest.split('\n').filter((line) => !/overview/i.test(line)).join('\n');
      expect(withoutOverview).not.toBe(manifest);
      fs.writeFileSync(manifestFile, withoutOverview);

      const plan = await planVendoring({ moduleDir: module, into: vendoredOnce, kitVersion: KIT_VERSION });
      steps = stepsOf(plan);
      statuses = statusesOf(plan);
      const reference = cloneFoundation(vendoredOnce);
      const again = vendorCli(module, reference);
      expect(again.status, again.stderr).toBe(0);
      expected = snapshot(reference);
    }, 60_000);

    it('is planned as the test expects', () => {
      const changed = [...statuses].filter(([, status]) => status !== 'SKIP').sort();
      expect(changed).toEqual([
        ['src/modules/warehouse/client/manifest.ts', 'UPDATE'],
        ['src/modules/warehouse/client/src/pages/OverviewPage.tsx', 'DELETE'],
        ['src/modules/warehouse/module.config.ts', 'UPDATE'],
        ['src/modules/warehouse/plugin/audit.ts', 'CREATE'],
        ['src/modules/warehouse/plugin/validation.ts', 'UPDATE'],
      ]);
    });

    it('at each chosen step: --dry-run writes nothing, and a re-run (no --force) ends as one uninterrupted run', async () => {
      const failures: string[] = [];
      const points = killPoints(steps, 'warehouse');
      expect(points.map((point) => point.at.kind)).toContain('deleted');
      await inBatches(points, 3, async ({ name, at }) => {
        try {
          await killThenFinish({ module, base: () => cloneFoundation(vendoredOnce), steps, at, expected, statuses });
        } catch (error) {
          failures.push(`killed after ${name}: ${(error as Error).message}`);
        }
      });
      expect(failures).toEqual([]);
    }, 180_000);
  });
});

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}
