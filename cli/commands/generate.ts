/**
 * `foundation-module generate …`: handed, with its raw arguments (it has flags of its own), to the
 * generators where they are: the TypeScript source in the kit's own checkout, the bundle in a
 * published kit (which ships no generators/ folder and installs no node-plop).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { KIT_ROOT, RUNNING_FROM_SOURCE } from '../../sandbox/kit-files.ts';

type GenerateModule = typeof import('../../generators/generate.ts');

export async function loadGenerators(): Promise<GenerateModule> {
  const file = RUNNING_FROM_SOURCE ? path.join(KIT_ROOT, 'generators', 'generate.ts') : path.join(KIT_ROOT, 'dist', 'generate.js');
  return import(pathToFileURL(file).href) as Promise<GenerateModule>;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const { runGenerate } = await loadGenerators();
  return runGenerate(argv, { cwd: process.cwd(), log: (text) => console.log(text) });
}
