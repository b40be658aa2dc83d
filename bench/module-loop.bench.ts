/**
 * A module author's loop with the packed kit, row by row as issue 26 lists it, beside create-vite
 * (react-ts) in the same run where a baseline applies, and beside `node -e 0` (a bare Node start)
 * for the commands:
 *
 *   install          `npm install` of a fresh module, empty npm cache and warm: packages, MB, time
 *   to answering     `npm create` + `npm install` + `npm run dev` until the API and the shell answer
 *   npm test         in the untouched module (type check and Vitest)
 *   CLI start        `foundation-module --help`, `generate entity`
 *   migrate no-op    `foundation-module migrate up` over BENCH_TENANTS tenants, process included
 *   provisioning     `foundation-module tenants create` of BENCH_TENANTS tenants / the same as one psql script
 *   dev restart      save a plugin file → its new route answers
 *
 *   npm run bench                       (part of it)
 *   node --import tsx bench/module-loop.bench.ts
 *
 * Needs the npm registry (create-vite, and the installs), and PostgreSQL at BENCH_DATABASE_URL
 * (default: the server on 127.0.0.1:5432) for the tenant rows.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createThrowawayDatabase } from '../testing/databases.ts';
import { countPackages } from '../test/helpers/node-modules.ts';
import { psqlAvailable, timePsqlScript } from './psql-floor.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = 5;
/** `npm run bench` exports the repo as npm's prefix and package metadata; the children must not see them. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_(package_|lifecycle_|config_local_prefix$)|VITEST)/i.test(key)));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-loop-bench-'));
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const du = (dir: string) => spawnSync('du', ['-sm', dir], { encoding: 'utf8' }).stdout.split('\t')[0];

/** Runs a command to completion; its wall time in ms. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd, env: { ...ENV, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`\`${command} ${args.join(' ')}\` failed in ${cwd}:\n${(result.stdout + result.stderr).slice(-3000)}`);
  return performance.now() - start;
}

function row(name: string, ours: string, baseline = '', ratio = '') {
  console.log(`  ${name.padEnd(44)}${ours.padStart(26)}${baseline.padStart(26)}${ratio.padStart(10)}`);
}

const DEV_IDENTITY = { 'X-Tenant-Id': 'dev', 'X-User-Id': 'admin@sandbox.dev' };

async function waitForAnswer(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(url, { headers: DEV_IDENTITY }).catch(() => undefined);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} never answered`);
}

/** Starts a long-running command in its own process group; returns how to stop it (Ctrl-C to the group). */
function startInGroup(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(command, args, { cwd, env: { ...ENV, ...env }, detached: true, stdio: 'ignore' });
  return async () => {
    process.kill(-child.pid!, 'SIGINT');
    await new Promise((r) => child.once('exit', r));
  };
}

/** Tenant schemas holding a table: where the module's migration ran. */
async function countTenantsWithTable(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>("SELECT count(DISTINCT s.nspname)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname LIKE 'tenant\\_t%' AND c.relkind = 'r'");
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

interface Project { dir: string; packages: number; mb: string; installMs: number }

/** Scaffolds with `npm exec` and installs, with the given npm cache; the time of the install alone is kept. */
function scaffoldAndInstall(kind: 'ours' | 'vite', tarball: string, cache: string, label: string): Project & { createMs: number } {
  const cwd = fs.mkdtempSync(path.join(tmp, `${kind}-${label}-`));
  const id = kind === 'ours' ? 'loop-module' : 'loop-vite';
  const createMs = kind === 'ours'
    ? run('npm', ['exec', '--yes', '--cache', cache, `--package=${tarball}`, '--', 'create-foundation-module', id, '--yes', '--kit', tarball], cwd)
    : run('npm', ['exec', '--yes', '--cache', cache, '--package=create-vite@latest', '--', 'create-vite', id, '--template', 'react-ts', '--no-interactive', '--no-immediate'], cwd);
  const dir = path.join(cwd, id);
  const installMs = run('npm', ['install', '--cache', cache, '--no-audit', '--no-fund'], dir);
  return { dir, createMs, installMs, packages: countPackages(path.join(dir, 'node_modules')), mb: du(path.join(dir, 'node_modules')) ?? '?' };
}

async function timeToAnswering(project: Project & { createMs: number }, kind: 'ours' | 'vite'): Promise<number> {
  const started = performance.now();
  if (kind === 'ours') {
    const stop = startInGroup('npm', ['run', 'dev', '--', '--port', '5391', '--api-port', '3391'], project.dir, { DATABASE_URL: '' });
    try {
      await Promise.all([waitForAnswer('http://127.0.0.1:3391/health'), waitForAnswer('http://127.0.0.1:5391/')]);
    } finally {
      await stop();
    }
  } else {
    const stop = startInGroup('npx', ['vite', '--port', '5392', '--strictPort', '--host', '127.0.0.1'], project.dir);
    try {
      await waitForAnswer('http://127.0.0.1:5392/');
    } finally {
      await stop();
    }
  }
  return project.createMs + project.installMs + (performance.now() - started);
}

try {
  run('npm', ['pack', '--pack-destination', tmp], ROOT);
  const packed = path.join(tmp, fs.readdirSync(tmp).find((name) => name.endsWith('.tgz'))!);
  console.log(`A module's loop with the packed kit (${path.basename(packed)}), beside create-vite react-ts\n`);
  row('row', 'ours', 'baseline', 'ratio');

  const measured: Record<string, { ours: Project & { createMs: number }; vite: Project & { createMs: number } }> = {};
  for (const label of ['empty cache', 'warm cache']) {
    const cache = label === 'empty cache' ? fs.mkdtempSync(path.join(tmp, 'cache-')) : path.join(os.homedir(), '.npm');
    const ours = scaffoldAndInstall('ours', packed, cache, label.split(' ')[0]!);
    const vite = scaffoldAndInstall('vite', packed, cache, label.split(' ')[0]!);
    measured[label] = { ours, vite };
    row(`npm install, ${label}`, `${ours.packages} pkg ${ours.mb} MB ${sec(ours.installMs)}`, `${vite.packages} pkg ${vite.mb} MB ${sec(vite.installMs)}`, `${(ours.installMs / vite.installMs).toFixed(2)}x`);
  }
  for (const label of ['empty cache', 'warm cache']) {
    const { ours, vite } = measured[label]!;
    const [a, b] = [await timeToAnswering(ours, 'ours'), await timeToAnswering(vite, 'vite')];
    row(`npm create → answering, ${label}`, sec(a), sec(b), `${(a / b).toFixed(2)}x`);
  }

  const module = measured['warm cache']!.ours.dir;
  const bin = path.join(module, 'node_modules', '.bin', 'foundation-module');
  const nodeFloor = median(Array.from({ length: ROUNDS }, () => run(process.execPath, ['-e', '0'], module)));
  row('npm test, untouched module', sec(run('npm', ['test'], module)));
  const help = median(Array.from({ length: ROUNDS }, () => run(bin, ['--help'], module)));
  row('foundation-module --help (vs node -e 0)', sec(help), sec(nodeFloor), `${(help / nodeFloor).toFixed(2)}x`);
  const generate = run(bin, ['generate', 'entity', 'supplier'], module);
  row('foundation-module generate entity', sec(generate), sec(nodeFloor), `${(generate / nodeFloor).toFixed(2)}x`);

  if (!psqlAvailable()) {
    console.log('  (tenant rows skipped: psql is not installed, it sends the floor script)');
  } else {
    const codes = Array.from({ length: TENANTS }, (_, i) => `t${i + 1}`);
    const db = await createThrowawayDatabase(SERVER);
    const floorDb = await createThrowawayDatabase(SERVER);
    try {
      // New tenants get the migrations of the modules enabled globally: the module first, as an operator would.
      run(bin, ['plugins', 'enable', 'loop-module', '--database-url', db.url], module);
      const provision = run(bin, ['tenants', 'create', ...codes, '--database-url', db.url], module);
      const migrated = await countTenantsWithTable(db.url);
      if (migrated !== TENANTS) throw new Error(`tenants create left the module's table in ${migrated} of ${TENANTS} tenants: its migration did not run everywhere`);
      const migration = fs.readFileSync(path.join(module, 'migrations', 'tenant', '001_init.sql'), 'utf8');
      const floor = timePsqlScript(floorDb.url, [
        'CREATE TABLE sys_tenant (id bigserial PRIMARY KEY, code text UNIQUE NOT NULL, name text NOT NULL);',
        `INSERT INTO sys_tenant (code, name) SELECT 't' || n, 'T' || n FROM generate_series(1, ${TENANTS}) n;`,
        ...codes.flatMap((code) => [`CREATE SCHEMA tenant_${code};`, `SET search_path = tenant_${code};`, migration, 'RESET search_path;']),
      ]) * 1000;
      row(`tenants create ${TENANTS} (vs one psql script)`, sec(provision), sec(floor), `${(provision / floor).toFixed(2)}x`);
      const noop = median(Array.from({ length: 3 }, () => run(bin, ['migrate', 'up', '--database-url', db.url], module)));
      row(`migrate up, no-op, ${TENANTS} tenants (vs node -e 0)`, sec(noop), sec(nodeFloor), `${(noop / nodeFloor).toFixed(2)}x`);
    } finally {
      await db.drop();
      await floorDb.drop();
    }
  }

  const stop = startInGroup('npm', ['run', 'dev', '--', '--port', '5393', '--api-port', '3393'], module, { DATABASE_URL: '' });
  try {
    await waitForAnswer('http://127.0.0.1:3393/health');
    const file = path.join(module, 'plugin', 'index.ts');
    const original = fs.readFileSync(file, 'utf8');
    const restarts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const route = `bench-${i}-${Date.now()}`;
      const started = performance.now();
      fs.writeFileSync(file, original.replace(/register\(ctx\)\s*\{/, (head) => `${head}\n    ctx.router.get('/${route}', (_req, res) => { res.json({ ok: true }); });`));
      await waitForAnswer(`http://127.0.0.1:3393/api/plugins/loop-module/${route}`, 30_000);
      restarts.push(performance.now() - started);
      fs.writeFileSync(file, original);
      await new Promise((r) => setTimeout(r, 1500));
    }
    row('save a plugin file → new route answers', `${sec(median(restarts))} (${restarts.map(sec).join(', ')})`);
  } finally {
    await stop();
  }
} catch (error) {
  console.error(`\nmodule-loop.bench: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
