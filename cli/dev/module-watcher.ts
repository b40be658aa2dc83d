/**
 * Watches what the API loads from each module: `plugin/`, `shared/`, `migrations/` (with their
 * subfolders) and `module.config.ts`; not `client/` (Vite reloads the shell itself), not
 * node_modules. A burst of events (an editor's save, a `git checkout`) is reported once, after a
 * quiet spell.
 *
 * Each folder gets a watcher of its own, rather than one `fs.watch(…, { recursive: true })`:
 * on Linux, Node 20's recursive mode watches each file by inode and loses a file that an editor
 * saves by writing a new file and renaming it over the old one (vim, `sed -i`, JetBrains).
 * A folder's own watcher reports every change to the names in it, whatever their inode.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The folders of a module whose code or SQL the API runs. */
export const WATCHED_FOLDERS = ['plugin', 'shared', 'migrations'];
const WATCHED_FILES = ['module.config.ts'];

export interface ChangedFile {
  moduleDir: string;
  /** Relative to the module, with `/`, e.g. `plugin/items.ts`. */
  file: string;
}

export interface ModuleWatcher {
  close(): void;
}

export function watchModules(
  moduleDirs: string[],
  onChange: (changes: ChangedFile[]) => void,
  // An editor's write-and-rename lands within a few ms, a checkout's files within tens: 75 ms
  // coalesces them and leaves most of the restart budget (under a second) to the restart.
  { debounceMs = 75 }: { debounceMs?: number } = {},
): ModuleWatcher {
  /** By absolute folder path. */
  const watchers = new Map<string, fs.FSWatcher>();
  let pending = new Map<string, ChangedFile>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const record = (moduleDir: string, file: string) => {
    pending.set(path.join(moduleDir, file), { moduleDir, file: file.split(path.sep).join('/') });
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changes = [...pending.values()];
      pending = new Map();
      onChange(changes);
    }, debounceMs);
  };

  const unwatch = (dir: string) => {
    for (const [watched, watcher] of watchers) {
      if (watched === dir || watched.startsWith(dir + path.sep)) {
        watcher.close();
        watchers.delete(watched);
      }
    }
  };

  /** Watches `rel` (a folder of the module; '' is the module itself) and the folders below it. */
  const watchFolder = (moduleDir: string, rel: string) => {
    const dir = path.join(moduleDir, rel);
    let entries: fs.Dirent[];
    let watcher: fs.FSWatcher;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
      watcher = fs.watch(dir, (_event, name) => {
        // The folder itself went away: its parent's watcher reports that.
        if (!fs.existsSync(dir)) unwatch(dir);
        else if (name) onEvent(moduleDir, rel, name.toString());
      });
    } catch {
      return; // gone meanwhile: its parent's watcher reports it if it comes back
    }
    watcher.on('error', () => unwatch(dir));
    watchers.set(dir, watcher);
    for (const entry of entries) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory() && isWatched(child)) watchFolder(moduleDir, child);
    }
  };

  const onEvent = (moduleDir: string, rel: string, name: string) => {
    const file = path.join(rel, name);
    if (closed || !isWatched(file)) return;
    const abs = path.join(moduleDir, file);
    // A folder made, removed or replaced (a branch switch, `generate migration` creating
    // migrations/): watch what is there now.
    if (fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) {
      unwatch(abs);
      watchFolder(moduleDir, file);
    } else if (watchers.has(abs)) {
      unwatch(abs);
    }
    record(moduleDir, file);
  };

  for (const moduleDir of moduleDirs) watchFolder(moduleDir, '');

  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** Whether a path inside a module (relative, '' excluded) is one the API loads. */
function isWatched(file: string): boolean {
  const [top = '', ...rest] = file.split(path.sep);
  if (rest.length === 0 && WATCHED_FILES.includes(top)) return true;
  return WATCHED_FOLDERS.includes(top) && !isIgnored(file);
}

/**
 * Files no module loads: dependencies, and what editors and tools write beside the file they
 * save: vim's `.items.ts.swp` and `4913`, emacs's `#items.ts#` and `.#items.ts`, `items.ts~`,
 * JetBrains' `items.ts___jb_tmp___`, `sed -i`'s `sedAbC123`.
 */
export function isIgnored(file: string): boolean {
  const parts = file.split(/[\\/]/);
  const base = parts.at(-1) ?? '';
  return parts.includes('node_modules')
    || parts.some((part) => part.startsWith('.'))
    || /^#.*#$/.test(base)
    || base.endsWith('~')
    || /\.(swp|swo|swx|tmp|bak|orig)$/i.test(base)
    || /___jb_(tmp|old)___$/.test(base)
    || /^\d+$/.test(base)
    || /^sed[A-Za-z0-9]{6}$/.test(base);
}
