/**
 * `foundation-module vendor` as a maintainer runs it: what lands where, --dry-run, vendoring again
 * after a module change (only changed files update, an edit made in the foundation is a conflict),
 * --force, the dependencies, and bad arguments refused with nothing written.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checksum } from '../vendor/manifest.ts';
import { typecheckFoundation } from './helpers/foundation-instance.ts';
import { copyReferenceFoundation, REPO_ROOT, vendor, withReact } from './helpers/reference-foundation.ts';

const ITEMS = path.join(REPO_ROOT, 'examples/items');
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** The reference foundation, by default with React among its dependencies (so the module's client code is placed too). */
function foundation({ react = true } = {}): string {
  const copy = copyReferenceFoundation();
  made.push(copy);
  if (react) withReact(copy);
  return copy;
}

/** A copy of the items module (its node_modules the kit's), to change as its author would. */
function itemsCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'items-module-'));
  made.push(dir);
  fs.cpSync(ITEMS, dir, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Every file under `dir` with its content: what "nothing written" compares. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.name === 'node_modules') continue;
      if (entry.isSymbolicLink()) out[child] = `-> ${fs.readlinkSync(path.join(dir, child))}`;
      else if (entry.isDirectory()) visit(child);
      else out[child] = fs.readFileSync(path.join(dir, child), 'utf8');
    }
  };
  visit('');
  return out;
}

describe('foundation-module vendor', () => {
  it('places the module in the seeds\' layout, with a server-safe module.config, the adapter and a manifest', async () => {
    const root = foundation();
    const { code, lines } = await vendor([ITEMS, '--into', root]);
    expect(code, lines.join('\n')).toBe(0);
    const at = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
    for (const file of ['plugin/index.ts', 'plugin/items.ts', 'shared/schema.ts', 'migrations/tenant/001_init.sql', 'client/manifest.ts', 'client/src/pages/ItemsPage.tsx', 'server/routes/index.ts', 'module.config.ts']) {
      expect(fs.existsSync(path.join(root, 'src/modules/items', file)), file).toBe(true);
    }
    // Nothing vendored imports the kit: its contract types sit beside the bindings.
    const vendored = Object.entries(snapshot(path.join(root, 'src'))).filter(([file]) => /\.tsx?$/.test(file));
    expect(vendored.filter(([, text]) => text.includes("'create-foundation-module")).map(([file]) => file)).toEqual([]);
    expect(at('src/modules/items/plugin/items.ts')).toContain("from '../../../lib/foundation-module/contract.ts'");
    // The server-safe config imports no client code, and says what the module's does.
    expect(at('src/modules/items/module.config.ts')).not.toMatch(/client\//);
    expect(at('src/modules/items/module.config.ts')).toContain('"label": "Items"');
    // The adapter is the module's own foundation/routes/index.ts, its two kit imports pointed at the foundation.
    const adapter = fs.readFileSync(path.join(ITEMS, 'foundation/routes/index.ts'), 'utf8');
    expect(at('src/modules/items/server/routes/index.ts')).toBe(adapter
      .replace("'create-foundation-module/foundation/bindings'", "'../../../../lib/foundation-module/bindings.ts'")
      .replace("'create-foundation-module/foundation'", "'../../../../lib/foundation-module/plugin-router.ts'"));
    expect(at('src/modules/items/server/routes/index.ts')).toMatch(/export default await createPluginRouter/);
    expect(fs.existsSync(path.join(root, 'src/modules/items/foundation'))).toBe(false);
    const manifest = JSON.parse(at('src/modules/items/vendor.json'));
    expect(manifest).toMatchObject({ id: 'items', version: '0.1.0', kitVersion: '0.1.0' });
    expect(manifest.files['src/modules/items/plugin/items.ts']).toBe(checksum(at('src/modules/items/plugin/items.ts')));
    // Run-time dependencies merged, the module's and the library's (pg the foundation has; croner only for cron jobs, which items has none of); the install is the maintainer's to run.
    const dependencies = JSON.parse(at('package.json')).dependencies;
    expect(dependencies).toMatchObject({ zod: '^4.6.7', 'drizzle-orm': '^0.45.4', pg: '^8.23.1', express: expect.any(String) });
    expect(dependencies.croner).toBeUndefined();
    expect(fs.existsSync(path.join(root, 'src/lib/foundation-module/plugin-cron.ts'))).toBe(false);
    expect(lines.join('\n')).toMatch(/Added to package.json: zod@\^4\.6\.7\. Run npm install/);
  });

  it.each([
    ['pins every dependency', (root: string, pkg: { dependencies: Record<string, string> }) => {
      pkg.dependencies = Object.fromEntries(Object.entries(pkg.dependencies).map(([name, range]) => [name, range.replace(/^[\^~]/, '')]));
    }],
    ['says save-exact=true in its .npmrc', (root: string) => fs.writeFileSync(path.join(root, '.npmrc'), 'fund=false\nsave-exact = true\n')],
  ])('adds exact versions to a foundation that %s', async (_what, style) => {
    const root = foundation();
    const file = path.join(root, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { dependencies: Record<string, string> };
    style(root, pkg);
    fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
    const { code, lines } = await vendor([ITEMS, '--into', root]);
    expect(code, lines.join('\n')).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).dependencies).toMatchObject({ zod: '4.6.7' });
    expect(lines.join('\n')).toMatch(/Added to package\.json: zod@4\.6\.7\./);
  });

  it('writes only files that docs/vendoring.md lists in "What lands where"', async () => {
    const root = foundation();
    const before = snapshot(root);
    expect((await vendor([ITEMS, '--into', root])).code).toBe(0);
    const after = snapshot(root);
    const written = Object.keys(after).filter((file) => after[file] !== before[file]).map((file) => file.split(path.sep).join('/'));
    const docs = fs.readFileSync(path.join(REPO_ROOT, 'docs/vendoring.md'), 'utf8');
    const table = docs.slice(docs.indexOf('## What lands where'), docs.indexOf('\n## ', docs.indexOf('## What lands where') + 1));
    // A library file is named by its path under src/lib/foundation-module/ (a row may list several); a module's by its first folder or file.
    const named = (file: string) => {
      const lib = file.startsWith('src/lib/foundation-module/') ? file.slice('src/lib/foundation-module/'.length) : undefined;
      if (lib === 'vendor.json') return table.includes('`src/lib/foundation-module/vendor.json`');
      if (lib !== undefined) return table.includes(`\`src/lib/foundation-module/${lib}\``) || table.includes(`\`${lib}\``);
      const moduleFile = /^src\/modules\/items\/([^/]+)/.exec(file)?.[1];
      if (moduleFile) return table.includes(`\`src/modules/<id>/${moduleFile}`);
      return table.includes(`\`${file}\``);
    };
    expect(written.filter((file) => !named(file))).toEqual([]);
    expect(written).toContain('package.json');
  });

  it('--dry-run lists CREATE, then UPDATE with a diff and CONFLICT after a change, and writes nothing', async () => {
    const root = foundation();
    const before = snapshot(root);
    const first = await vendor([ITEMS, '--into', root, '--dry-run']);
    expect(first.code).toBe(0);
    expect(first.lines).toContain('CREATE   src/modules/items/plugin/items.ts');
    expect(first.lines).toContain('CREATE   src/lib/foundation-module/bindings.ts');
    expect(snapshot(root)).toEqual(before);

    const module = itemsCopy();
    expect((await vendor([module, '--into', root])).code).toBe(0);
    fs.appendFileSync(path.join(module, 'plugin/validation.ts'), '\n// a change by the module author\n');
    fs.appendFileSync(path.join(root, 'src/modules/items/plugin/items.ts'), '\n// a change by the maintainer\n');
    const after = snapshot(root);
    const second = await vendor([module, '--into', root, '--dry-run']);
    const text = second.lines.join('\n');
    expect(text).toMatch(/^UPDATE {3}src\/modules\/items\/plugin\/validation\.ts$/m);
    expect(text).toContain('+// a change by the module author');
    expect(text).toMatch(/^CONFLICT src\/modules\/items\/plugin\/items\.ts {2}\(edited in the foundation since it was vendored\)$/m);
    expect(text).toMatch(/^SKIP {5}src\/modules\/items\/shared\/schema\.ts {2}\(unchanged\)$/m);
    expect(text).toMatch(/^SKIP {5}src\/lib\/foundation-module\/bindings\.ts/m);
    expect(text).toMatch(/1 conflict: vendoring would refuse without --force/);
    expect(snapshot(root)).toEqual(after);
  });

  it('vendoring again updates only the changed files, refuses over an edited one, and --force overwrites it', async () => {
    const root = foundation();
    const module = itemsCopy();
    expect((await vendor([module, '--into', root])).code).toBe(0);
    const bindings = path.join(root, 'src/lib/foundation-module/bindings.ts');
    fs.writeFileSync(bindings, '// the maintainer\'s bindings\n');

    fs.appendFileSync(path.join(module, 'plugin/validation.ts'), '\n// changed\n');
    fs.rmSync(path.join(module, 'client/src/plugin-id.ts'));
    fs.writeFileSync(path.join(module, 'client/manifest.ts'), fs.readFileSync(path.join(module, 'client/manifest.ts'), 'utf8').replace("import { pluginId } from './src/plugin-id.ts';", "const pluginId = 'items';"));
    const updated = await vendor([module, '--into', root]);
    expect(updated.code, updated.lines.join('\n')).toBe(0);
    expect(updated.lines.filter((line) => /^(CREATE|UPDATE|DELETE|CONFLICT)/.test(line)).sort()).toEqual([
      'DELETE   src/modules/items/client/src/plugin-id.ts',
      'UPDATE   src/modules/items/client/manifest.ts',
      'UPDATE   src/modules/items/plugin/validation.ts',
    ]);
    expect(fs.readFileSync(bindings, 'utf8')).toBe('// the maintainer\'s bindings\n');

    const edited = path.join(root, 'src/modules/items/plugin/items.ts');
    fs.appendFileSync(edited, '\n// the maintainer\'s fix\n');
    fs.appendFileSync(path.join(module, 'plugin/items.ts'), '\n// the author\'s change\n');
    fs.appendFileSync(path.join(module, 'plugin/index.ts'), '\n// another change\n');
    const before = snapshot(root);
    const refused = await vendor([module, '--into', root]);
    expect(refused.code).toBe(1);
    expect(refused.lines.at(-1)).toMatch(/Nothing was written: 1 conflict:\n {2}src\/modules\/items\/plugin\/items\.ts: edited in the foundation/);
    expect(snapshot(root)).toEqual(before);

    const forced = await vendor([module, '--into', root, '--force']);
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(edited, 'utf8')).toContain('// the author\'s change');
    expect(fs.readFileSync(edited, 'utf8')).not.toContain('// the maintainer\'s fix');
    expect(forced.lines.join('\n')).toMatch(/forced: src\/modules\/items\/plugin\/items\.ts/);
  });

  it('refuses a run-time dependency of another major version unless --force, then keeps the foundation\'s', async () => {
    const root = foundation();
    const pkgFile = path.join(root, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
    pkg.dependencies['drizzle-orm'] = '^0.38.0';
    fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    const before = snapshot(root);
    const refused = await vendor([ITEMS, '--into', root]);
    expect(refused.code).toBe(1);
    expect(refused.lines.at(-1)).toContain('dependency drizzle-orm: the module needs ^0.45.4, the foundation has ^0.38.0');
    expect(snapshot(root)).toEqual(before);
    expect((await vendor([ITEMS, '--into', root, '--force'])).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(pkgFile, 'utf8')).dependencies['drizzle-orm']).toBe('^0.38.0');
  });

  describe('bad arguments fail clearly, with nothing written', () => {
    const cases: { name: string; args: (root: string, tmp: string) => string[]; setup?: (root: string, tmp: string) => void; code: number; message: RegExp }[] = [
      { name: 'no module', args: (root) => ['--into', root], code: 2, message: /Name the module folder/ },
      { name: 'no --into', args: () => [ITEMS], code: 2, message: /Name the foundation with --into/ },
      { name: '--into without a value', args: () => [ITEMS, '--into'], code: 2, message: /--into needs a value|Name the foundation/ },
      { name: '--into twice', args: (root) => [ITEMS, '--into', root, '--into', root], code: 2, message: /--into is given 2 times/ },
      { name: 'an unknown option', args: (root) => [ITEMS, '--into', root, '--yes'], code: 2, message: /Unknown option --yes/ },
      { name: 'two modules', args: (root) => [ITEMS, ITEMS, '--into', root], code: 2, message: /One module at a time/ },
      { name: 'a module folder that does not exist', args: (root, tmp) => [path.join(tmp, 'nope'), '--into', root], code: 1, message: /is not a folder/ },
      { name: 'a folder that is not a module', args: (root, tmp) => [tmp, '--into', root], setup: (_root, tmp) => fs.writeFileSync(path.join(tmp, 'package.json'), '{}'), code: 1, message: /is not a module: it has no plugin\/index\.ts/ },
      { name: 'a foundation folder that does not exist', args: (_root, tmp) => [ITEMS, '--into', path.join(tmp, 'nope')], code: 1, message: /is not a folder/ },
      { name: 'a folder that is not a foundation', args: (_root, tmp) => [ITEMS, '--into', tmp], code: 1, message: /is not a foundation: it has no package\.json and no src/ },
      { name: 'the module itself as the foundation', args: () => [ITEMS, '--into', ITEMS], code: 1, message: /is not a foundation|separate folders/ },
      {
        name: 'an id taken by another module', args: (root) => [ITEMS, '--into', root], code: 1, message: /src\/modules\/items\/ already holds another module/,
        setup: (root) => {
          fs.mkdirSync(path.join(root, 'src/modules/items/server/routes'), { recursive: true });
          fs.writeFileSync(path.join(root, 'src/modules/items/server/routes/index.ts'), 'export default null;\n');
        },
      },
      {
        name: 'a modules folder that is a symbolic link out of the foundation', args: (root) => [ITEMS, '--into', root], code: 1, message: /is a symbolic link/,
        setup: (root, tmp) => {
          fs.rmSync(path.join(root, 'src/modules'), { recursive: true });
          fs.symlinkSync(tmp, path.join(root, 'src/modules'), 'dir');
        },
      },
      {
        name: 'a malformed foundation package.json', args: (root) => [ITEMS, '--into', root], code: 1, message: /package\.json is not valid JSON/,
        setup: (root) => fs.writeFileSync(path.join(root, 'package.json'), '{ "name": '),
      },
      {
        name: 'a module whose code does not load', args: (root, tmp) => [path.join(tmp, 'items'), '--into', root], code: 1,
        message: /^The code of module .*items could not be loaded to read its module\.config\.ts: .*plugin\/index\.ts.*Fix the module/s,
        setup: (_root, tmp) => {
          fs.cpSync(ITEMS, path.join(tmp, 'items'), { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
          fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(tmp, 'items/node_modules'), 'dir');
          fs.appendFileSync(path.join(tmp, 'items/plugin/index.ts'), '\nexport const broken = ;\n');
        },
      },
    ];
    it.each(cases)('$name', async ({ args, setup, code, message }) => {
      const root = foundation();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vendor-args-'));
      made.push(tmp);
      setup?.(root, tmp);
      const before = [snapshot(root), snapshot(tmp)];
      const result = await vendor(args(root, tmp));
      expect(result.code, result.lines.join('\n')).toBe(code);
      expect(result.lines.at(-1)).toMatch(message);
      expect([snapshot(root), snapshot(tmp)]).toEqual(before);
    });
  });

  it('vendors a module that was never installed (no node_modules), as a command, in one step', () => {
    const root = foundation();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vendor-uninstalled-'));
    made.push(tmp);
    const moduleDir = path.join(tmp, 'items');
    fs.cpSync(ITEMS, moduleDir, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/foundation-module.js'), 'vendor', moduleDir, '--into', root], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(fs.existsSync(moduleDir + '/node_modules')).toBe(false);
    // The same catalog as from the installed module: its permissions, templates and menu, read from its own files.
    const config = fs.readFileSync(path.join(root, 'src/modules/items/module.config.ts'), 'utf8');
    expect(config).toContain('"ITEMS_MANAGER"');
    expect(config).toContain('"items.items.delete"');
    expect(config).toContain('"label": "Items"');
    expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies).toMatchObject({ zod: '^4.6.7', 'drizzle-orm': '^0.45.4' });
  });

  it('refuses a catalog computed by a package that is not installed, naming the value, with nothing written', async () => {
    const root = foundation();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vendor-computed-'));
    made.push(tmp);
    const moduleDir = path.join(tmp, 'items');
    fs.cpSync(ITEMS, moduleDir, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
    const index = path.join(moduleDir, 'plugin/index.ts');
    fs.writeFileSync(index, `import { extraPermission } from 'not-installed-anywhere';\n${fs.readFileSync(index, 'utf8').replace(/export const permissions: string\[\] = \[/, 'export const permissions: string[] = [extraPermission, ')}`);
    const before = snapshot(root);
    const { code, lines } = await vendor([moduleDir, '--into', root]);
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(/permission .* must be a string \(read where .*not-installed-anywhere.* not installed, with stand-ins: .*run npm install in it first\)\. Fix the module/);
    expect(snapshot(root)).toEqual(before);
  });
});

describe('the adapter a module ships (foundation/routes/index.ts)', () => {
  it('is the kit\'s, for a module made before the generator wrote one', async () => {
    const module = itemsCopy();
    fs.rmSync(path.join(module, 'foundation'), { recursive: true });
    const root = foundation();
    const { code, lines } = await vendor([module, '--into', root]);
    expect(code, lines.join('\n')).toBe(0);
    const kits = fs.readFileSync(path.join(REPO_ROOT, 'template/module/foundation/routes/index.ts'), 'utf8');
    expect(fs.readFileSync(path.join(root, 'src/modules/items/server/routes/index.ts'), 'utf8'))
      .toBe(kits.replace("'create-foundation-module/foundation/bindings'", "'../../../../lib/foundation-module/bindings.ts'").replace("'create-foundation-module/foundation'", "'../../../../lib/foundation-module/plugin-router.ts'"));
  });

  it.each([
    ['a symbolic link to a file outside the module', (file: string) => fs.symlinkSync('/etc/hostname', file)],
    ['a folder', (file: string) => fs.mkdirSync(file)],
  ])('is refused when it is %s, writing nothing', async (_what, make) => {
    const module = itemsCopy();
    const file = path.join(module, 'foundation/routes/index.ts');
    fs.rmSync(file);
    make(file);
    const root = foundation();
    const before = snapshot(root);
    const { code, lines } = await vendor([module, '--into', root]);
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/foundation\/routes\/index\.ts is not a plain file: vendoring copies files only/);
    expect(snapshot(root)).toEqual(before);
  });
});

describe('a server-only foundation (no React)', () => {
  it('gets no client code, is told so, and type-checks with no edit but its bindings', async () => {
    const root = foundation({ react: false });
    // Its tsconfig as a server-only host has it: React's types are not installed, and nothing is excluded.
    const tsconfigFile = path.join(root, 'tsconfig.json');
    const tsconfig = JSON.parse(fs.readFileSync(tsconfigFile, 'utf8')) as Record<string, unknown>;
    delete tsconfig.exclude;
    fs.writeFileSync(tsconfigFile, JSON.stringify(tsconfig, null, 2));
    const { code, lines } = await vendor([ITEMS, '--into', root]);
    expect(code, lines.join('\n')).toBe(0);
    expect(lines).toContain("The module's client code (client/) is left out: this foundation has no React. Vendor with --client to place it.");
    expect(fs.existsSync(path.join(root, 'src/modules/items/client'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'src/lib/foundation-module/client'))).toBe(false);
    // The one edit vendoring asks of a maintainer: the bindings.
    fs.copyFileSync(path.join(REPO_ROOT, 'test/fixtures/foundation/maintainer/bindings.ts'), path.join(root, 'src/lib/foundation-module/bindings.ts'));
    const { status, output } = typecheckFoundation(root);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('gets the client code with --client, and a foundation with React goes without it with --no-client', async () => {
    const serverOnly = foundation({ react: false });
    expect((await vendor([ITEMS, '--into', serverOnly, '--client'])).code).toBe(0);
    expect(fs.existsSync(path.join(serverOnly, 'src/modules/items/client/manifest.ts'))).toBe(true);
    expect(fs.existsSync(path.join(serverOnly, 'src/lib/foundation-module/client/contract.ts'))).toBe(true);
    const withReact = foundation();
    expect((await vendor([ITEMS, '--into', withReact, '--no-client'])).code).toBe(0);
    expect(fs.existsSync(path.join(withReact, 'src/modules/items/client'))).toBe(false);
  });
});

describe('cron support in the foundation', () => {
  it('comes with the first module that schedules jobs (plugin-cron.ts, croner) and stays for the modules after', async () => {
    const root = foundation();
    const withCron = itemsCopy();
    const index = path.join(withCron, 'plugin/index.ts');
    fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace('registerItemsRoutes(ctx);', "registerItemsRoutes(ctx);\n    ctx.cron.register('*/5 * * * *', async () => {});"));
    const first = await vendor([withCron, '--into', root]);
    expect(first.code, first.lines.join('\n')).toBe(0);
    expect(first.lines.join('\n')).toMatch(/Added to package.json: croner@\^11\.0\.1, zod@\^4\.6\.7\./);
    for (const file of ['plugin-cron.ts', 'cron-scheduler.ts', 'run-locks.ts', 'run-leases.ts', 'cron-session.ts', 'migration-readiness.ts']) {
      expect(fs.existsSync(path.join(root, 'src/lib/foundation-module', file)), file).toBe(true);
    }
    // A vendoring of a module without jobs keeps them: the library serves every module vendored before.
    const withoutCron = itemsCopy();
    const second = await vendor([withoutCron, '--into', root]);
    expect(second.code, second.lines.join('\n')).toBe(0);
    expect(second.lines.filter((line) => line.startsWith('DELETE'))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'src/lib/foundation-module/plugin-cron.ts'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies.croner).toBe('^11.0.1');
  });

  it('is missing where no vendored module calls ctx.cron.register, and a job registered there fails naming what to do', async () => {
    const root = foundation();
    expect((await vendor([ITEMS, '--into', root])).code).toBe(0);
    expect(fs.existsSync(path.join(root, 'src/lib/foundation-module/plugin-cron.ts'))).toBe(false);
    const { createPluginRouter } = (await import(pathToFileURL(path.join(root, 'src/lib/foundation-module/plugin-router.ts')).href)) as typeof import('../foundation-lib/plugin-router.ts');
    const anything = () => undefined;
    const bindings = { withTenantTx: anything, requirePermission: anything, identity: anything, isEnabled: () => true, isEnabledGlobally: () => true, resolveTenant: anything } as never;
    const hidden = { default: { meta: { id: 'hidden', version: '1.0.0', api: '1.x' }, async register(ctx: { cron: Record<string, (spec: string, job: () => Promise<void>) => void> }) { const method = 'register'; ctx.cron[method]!('* * * * *', async () => {}); } } };
    await expect(createPluginRouter(hidden as never, bindings)).rejects.toThrow(/Plugin "hidden" schedules a cron job, but this foundation has no cron support .*call it that way, vendor the module again, then npm install/);
  });
});
