/**
 * A temporary copy of the reference foundation (test/fixtures/foundation), its node_modules the
 * kit's, and how to vendor a module into it as a maintainer would: the command, then the one edit
 * of the bindings file (test/fixtures/foundation/maintainer/bindings.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { vendorCommand } from '../../cli/commands/vendor.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/foundation');

/** A temporary copy of the reference foundation; its packages the kit's unless `linkPackages` is false (then `npm install` it). */
export function copyReferenceFoundation({ linkPackages = true } = {}): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'vendored-foundation-'));
  fs.cpSync(FIXTURE, copy, { recursive: true, filter: (src) => !['node_modules', 'maintainer'].includes(path.basename(src)) });
  if (linkPackages) fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/** `foundation-module vendor`, its output lines and exit code (a refusal's message as the last line). */
export async function vendor(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  try {
    return { code: await vendorCommand(args, '0.1.0', { write: (line) => lines.push(line) }), lines };
  } catch (error) {
    lines.push((error as Error).message);
    return { code: (error as { exitCode?: number }).exitCode ?? 99, lines };
  }
}

/** The maintainer's edits of the files vendoring wrote for them: the bindings (pool, auth, the org_tenants table) and the test bindings. */
export function editBindings(copy: string): void {
  for (const file of ['bindings.ts', 'test-bindings.ts']) fs.copyFileSync(path.join(FIXTURE, 'maintainer', file), path.join(copy, 'src/lib/foundation-module', file));
}
