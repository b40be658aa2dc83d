/**
 * `node --import <this file>`: lets the process import a module's TypeScript with the hooks of
 * typescript-hooks.ts. In the kit's checkout, tsx (imported before this) runs the kit's own
 * TypeScript, this file and the hooks among it.
 */
import { register } from 'node:module';

register(new URL(import.meta.url.endsWith('.ts') ? './typescript-hooks.ts' : './typescript-hooks.js', import.meta.url));
