/** What an install put in a node_modules folder: its packages and bytes (for the packed-kit test and the benches). */
import fs from 'node:fs';
import path from 'node:path';

/** Package folders in a node_modules, scoped (`@scope/name`) and nested ones included. */
export function countPackages(nodeModules: string): number {
  let count = 0;
  for (const entry of fs.readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const top = path.join(nodeModules, entry.name);
    for (const dir of entry.name.startsWith('@') ? fs.readdirSync(top).map((name) => path.join(top, name)) : [top]) {
      count++;
      if (fs.existsSync(path.join(dir, 'node_modules'))) count += countPackages(path.join(dir, 'node_modules'));
    }
  }
  return count;
}

/** Regular files under a folder and their bytes (symlinks, such as node_modules/.bin, are not followed). */
export function treeStats(dir: string): { files: number; bytes: number } {
  const total = { files: 0, bytes: 0 };
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = treeStats(full);
      total.files += sub.files;
      total.bytes += sub.bytes;
    } else if (entry.isFile()) {
      total.files++;
      total.bytes += fs.statSync(full).size;
    }
  }
  return total;
}
