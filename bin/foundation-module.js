#!/usr/bin/env node
// The published kit runs its build (dist/, JavaScript: nothing to compile at start); the kit's
// own checkout, which has the TypeScript sources, runs them through tsx.
import { existsSync } from 'node:fs';

const source = new URL('../cli/index.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/index.js');
}
