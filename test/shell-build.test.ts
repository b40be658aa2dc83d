import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, type Rolldown } from 'vite';
import { shellConfig, shellOptionsFromEnv } from '../client/vite.config.ts';
import { moduleVariant, WAREHOUSE_MODULE } from './helpers/examples.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const itemsDir = path.join(repoRoot, 'examples', 'items');
/** Text only ItemsPage.tsx contains: where it lands tells which chunk holds the page. */
const PAGE_MARKER = 'No items yet in this tenant.';

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'shell-build-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function chunksOf(output: Awaited<ReturnType<typeof build>>): Rolldown.OutputChunk[] {
  if (!('output' in output)) throw new Error('expected a single build output');
  return output.output.filter((file): file is Rolldown.OutputChunk => file.type === 'chunk');
}

describe('shell build', () => {
  it('puts each module page in its own lazy chunk and the manifest in the main bundle', async () => {
    const outDir = path.join(tmp, 'dist');
    const output = await build({ ...shellConfig({ moduleDirs: [itemsDir], outDir }), logLevel: 'silent' });
    const chunks = chunksOf(output);

    const entry = chunks.find((c) => c.isEntry);
    const page = chunks.find((c) => c.facadeModuleId?.endsWith(path.join('items', 'client', 'src', 'pages', 'ItemsPage.tsx')));
    expect(entry).toBeDefined();
    expect(page).toBeDefined();
    expect(page!.isDynamicEntry).toBe(true);
    expect(page!.fileName).not.toBe(entry!.fileName);

    // Judged on the files written, as a browser would get them.
    const read = (chunk: Rolldown.OutputChunk) => readFileSync(path.join(outDir, chunk.fileName), 'utf8');
    expect(read(page!)).toContain(PAGE_MARKER);
    expect(read(entry!)).not.toContain(PAGE_MARKER);
    expect(read(entry!)).toMatch(/label:\s*["'`]Items["'`]/);
    expect(existsSync(path.join(outDir, 'index.html'))).toBe(true);

    // module.config.ts and plugin/ are server code: none of it may reach the browser bundle.
    const bundled = chunks.flatMap((c) => c.moduleIds);
    const serverSide = bundled.filter((id) => id.startsWith(itemsDir) && !id.startsWith(path.join(itemsDir, 'client')));
    expect(serverSide).toEqual([]);
  });

  it("resolves @client/ in each module to that module's client/src", async () => {
    // items' page imports its API client through @client; warehouse has no api/items.ts, so a
    // resolution into the wrong module fails the build.
    const variant = moduleVariant({
      'client/src/pages/ItemsPage.tsx': (old) => old.replace("from '../api/items.ts'", "from '@client/api/items.ts'"),
    });
    try {
      const outDir = path.join(tmp, 'dist-alias');
      const output = await build({ ...shellConfig({ moduleDirs: [WAREHOUSE_MODULE, variant], outDir }), logLevel: 'silent' });
      const ids = chunksOf(output).flatMap((c) => c.moduleIds);
      expect(ids).toContain(path.join(variant, 'client', 'src', 'api', 'items.ts'));
      expect(ids).toContain(path.join(WAREHOUSE_MODULE, 'client', 'src', 'api', 'suppliers.ts'));
    } finally {
      rmSync(variant, { recursive: true, force: true });
    }
  });

  it('fails naming the module directory that has no client/manifest.ts', async () => {
    const bare = path.join(tmp, 'module-without-manifest');
    mkdirSync(bare);
    const config = shellConfig({ moduleDirs: [bare], outDir: path.join(tmp, 'dist-bare') });
    await expect(build({ ...config, logLevel: 'silent' })).rejects.toThrow(`${bare} has no client/manifest.ts`);
  });
});

describe('shell options', () => {
  it('refuses module dirs that are not absolute paths', () => {
    expect(() => shellConfig({ moduleDirs: ['examples/items'] })).toThrow('absolute path');
    expect(() => shellOptionsFromEnv({ FOUNDATION_MODULE_DIRS: '["/ok", "/bad\\n"]' })).toThrow('control characters');
    expect(() => shellOptionsFromEnv({ FOUNDATION_MODULE_DIRS: '/not/json' })).toThrow('JSON array');
  });

  it('reads the API URL and port from the environment', () => {
    const options = shellOptionsFromEnv({ FOUNDATION_API_URL: 'http://127.0.0.1:4000', FOUNDATION_SHELL_PORT: '5999' });
    expect(options).toEqual({ apiUrl: 'http://127.0.0.1:4000', port: 5999 });
    expect(() => shellOptionsFromEnv({ FOUNDATION_SHELL_PORT: 'x' })).toThrow('FOUNDATION_SHELL_PORT');
  });
});

describe('example modules', () => {
  const examplesDir = path.join(repoRoot, 'examples');
  const exampleDirs = readdirSync(examplesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(examplesDir, entry.name));

  it('are there to check', () => {
    expect(exampleDirs.map((dir) => path.basename(dir))).toEqual(expect.arrayContaining(['items', 'warehouse']));
  });

  // The id is written twice (plugin/index.ts for the server, client/src/plugin-id.ts for the
  // client) and each consumer is read on its own, so an id hard-coded anywhere shows: a client
  // that drifts from the plugin 404s on every API call. module.config.ts is left out: it spreads
  // plugin.meta, so it cannot disagree.
  const cases = exampleDirs.map((dir) => [path.basename(dir), dir]);
  it.each(cases)('%s: folder, plugin meta.id, manifest id and API base path agree', async (folder, dir) => {
    const load = async (file: string) => (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
    const plugin = (await load('plugin/index.ts')).default as { meta: { id: string } };
    const manifest = (await load('client/manifest.ts')).default as { id: string };
    const { basePath } = await load('client/src/api/http.ts');

    expect({ pluginId: plugin.meta.id, manifestId: manifest.id, basePath }).toEqual({
      pluginId: folder,
      manifestId: folder,
      basePath: `/api/plugins/${folder}`,
    });
  });
});
