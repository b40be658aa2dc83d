#!/usr/bin/env node
// A published kit runs the bundle in dist/ (it needs no installed dependencies, so `npm create`
// stays light); the kit's own checkout, which has generators/, runs the TypeScript source.
import { existsSync } from 'node:fs';

const source = new URL('../generators/main-create.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/create.js');
}
