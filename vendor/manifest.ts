/**
 * The vendor manifest: what one vendoring wrote (module and kit versions, a checksum per file), so
 * that the next one can tell a file the foundation edited from one it may update. One per module
 * (`src/modules/<id>/vendor.json`) and one for the shared library (`src/lib/foundation-module/vendor.json`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface VendorManifest {
  /** What was vendored: the module's id and version, or `foundation-module` for the library. */
  id: string;
  version?: string;
  kitVersion: string;
  /** Target path (relative to the foundation root) → `sha256:<hex>` of the content written. */
  files: Record<string, string>;
}

export const MANIFEST_NAME = 'vendor.json';

export function checksum(content: string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** The manifest at `target` in `root`, or undefined; a malformed one is an error naming the file. */
export function readManifest(root: string, target: string): VendorManifest | undefined {
  const file = path.join(root, target);
  if (!fs.existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as VendorManifest;
    if (typeof parsed.id !== 'string' || !parsed.files || typeof parsed.files !== 'object') throw new Error('it lacks "id" or "files"');
    return parsed;
  } catch (error) {
    throw new Error(`${file} is not a vendor manifest (${(error as Error).message}). Restore it from version control, or delete it and vendor again with --force.`);
  }
}

export function manifestText(manifest: VendorManifest): string {
  const files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ ...manifest, files }, null, 2)}\n`;
}
