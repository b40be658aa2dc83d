/**
 * A generator run killed part-way (SIGKILL: no rollback runs) must leave a module that the same
 * command, run again, brings to exactly what one uninterrupted run makes: nothing lost, nothing
 * written twice, no temporary file left behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyChanges, generate } from '../generators/changes.ts';
import { entityNames, moduleNames } from '../generators/names.ts';
import { templateData } from '../generators/template-names.ts';
import { REPO_ROOT } from '../scripts/examples.ts';
import { createModule, generateIn, scratchFolders, treeSnapshot } from './helpers/generator-runs.ts';

const tempDir = scratchFolders('fm-crash-');

async function freshModule(): Promise<string> {
  const cwd = tempDir();
  await createModule(cwd, 'stock-ledger', '--yes');
  return path.join(cwd, 'stock-ledger');
}

const snapshot = treeSnapshot;
const addSupplier = (dir: string) => generateIn(dir, ['entity', 'supplier']);

/** What `generate entity supplier` would write to `dir`, planned without writing. */
async function plannedWrites(dir: string) {
  const module = moduleNames('stock-ledger');
  const changes = await generate({ generator: 'entity', answers: templateData(module, { entity: entityNames(module.id, 'supplier') }), moduleDir: dir, dryRun: true });
  return changes.filter((c) => c.kind !== 'SKIP');
}

/** The pid of a process that has exited: what a killed run's temporary files are named after. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('a generator run killed part-way', () => {
  let expected: Record<string, string>;
  beforeAll(async () => {
    const reference = await freshModule();
    await addSupplier(reference);
    expected = snapshot(reference);
  });

  it('after writing its temporary files but before renaming any: a re-run finishes and removes them', async () => {
    const dir = await freshModule();
    const writes = await plannedWrites(dir);
    expect(writes.length).toBeGreaterThan(3);
    const pid = deadPid();
    for (const change of writes) {
      fs.mkdirSync(path.dirname(path.join(dir, change.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, `${change.path}.fm-generate-${pid}.tmp`), change.after!);
    }
    await addSupplier(dir);
    expect(snapshot(dir)).toEqual(expected);
  });

  it('after renaming only some of its files into place: a re-run completes the rest, nothing twice', async () => {
    const writes = await plannedWrites(await freshModule());
    for (const cut of [1, Math.floor(writes.length / 2), writes.length - 1]) {
      const dir = await freshModule();
      applyChanges(dir, (await plannedWrites(dir)).slice(0, cut));
      await addSupplier(dir);
      expect(snapshot(dir), `killed after ${cut} of ${writes.length} files`).toEqual(expected);
    }
  });

  it('by a real SIGKILL at random moments, three times over: a last run still ends as one clean run', async () => {
    const dir = await freshModule();
    const cli = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
    for (const delay of [300, 700 + Math.floor(Math.random() * 600), 1_200 + Math.floor(Math.random() * 1_200)]) {
      const child = spawn(process.execPath, [cli, 'generate', 'entity', 'supplier'], { cwd: dir, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      setTimeout(() => child.kill('SIGKILL'), delay);
      await exited;
    }
    await addSupplier(dir);
    expect(snapshot(dir)).toEqual(expected);
  });
});
