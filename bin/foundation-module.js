#!/usr/bin/env node
// Where the kit's dev stack is installed (a generated module, this repository), the TypeScript
// source runs through tsx. Where it is not (a foundation running `npx -p create-foundation-module
// foundation-module migrate …`), the operator bundle runs: it needs nothing but Node.
let tsx;
try {
  tsx = await import('tsx/esm/api');
} catch {
  tsx = undefined;
}
if (tsx) {
  tsx.register();
  await import('../cli/index.ts');
} else {
  await import('../dist/operator.js');
}
