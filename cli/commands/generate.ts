/**
 * `foundation-module generate …`: handed, with its raw arguments (it has flags of its own), to the
 * generators where they are: the TypeScript source in the kit's own checkout, the bundle in a
 * published kit (which ships no generators/ folder and installs no node-plop).
 */
import { existsSync } from 'node:fs';

type GenerateModule = typeof import('../../generators/generate.ts');

export async function loadGenerators(): Promise<GenerateModule> {
  const source = new URL('../../generators/generate.ts', import.meta.url);
  if (existsSync(source)) return import(source.href) as Promise<GenerateModule>;
  // @ts-ignore: dist/ exists only in the published package (built by `npm pack`).
  return import('../../dist/generate.js') as Promise<GenerateModule>;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const { runGenerate } = await loadGenerators();
  return runGenerate(argv, { cwd: process.cwd(), log: (text) => console.log(text) });
}
