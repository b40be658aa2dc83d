/**
 * What the generator tests share: temporary folders removed after the file, a hash per file of a
 * tree (equal snapshots mean nothing changed), and the generators run in-process with their output.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { runCreate } from '../../generators/create.ts';
import { runGenerate } from '../../generators/generate.ts';
import { listFiles } from '../../scripts/examples.ts';

/** A maker of temporary folders for one test file; every folder it made is removed after the file. */
export function scratchFolders(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** The whole tree as one hash per file: equal snapshots mean nothing changed. */
export function treeSnapshot(dir: string): Record<string, string> {
  if (!fs.existsSync(dir)) return {};
  return Object.fromEntries(listFiles(dir).map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
}

/** `create-foundation-module <argv>` in `cwd`, without a terminal; returns what it printed. */
export async function createModule(cwd: string, ...argv: string[]): Promise<string> {
  const out: string[] = [];
  await runCreate(argv, { cwd, interactive: false, log: (t) => out.push(t) });
  return out.join('\n');
}

/** `foundation-module generate <argv>` in `moduleDir`; returns what it printed. */
export async function generateIn(moduleDir: string, argv: string[], stdin = ''): Promise<string> {
  const out: string[] = [];
  await runGenerate(argv, { cwd: moduleDir, log: (t) => out.push(t), readStdin: async () => stdin });
  return out.join('\n');
}
