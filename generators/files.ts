/** The file tree of a module or template folder, as the generators and their tests walk it. */
import fs from 'node:fs';
import path from 'node:path';

/** Folders that are never staged, compared or listed: installs, local data, history. */
export const IGNORED = new Set(['node_modules', '.git', '.sandbox', 'dist', 'coverage']);

/** Every file under `dir` outside IGNORED folders, relative, with `/`, sorted. */
export function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep))
    .filter((parts) => !parts.some((part) => IGNORED.has(part)))
    .map((parts) => parts.join('/'))
    .sort();
}
