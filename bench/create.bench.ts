/**
 * How light `npm create foundation-module` is, beside create-vite measured in the same run.
 *
 * The generators run from a bundle with every dependency inside (dist/create.js), but `npm exec`
 * installs the package with its own dependencies, the dev stack a module then uses (the
 * PostgreSQL binaries, Vite): on an empty cache that download happens here rather than at the
 * module's `npm install`, which then takes it from the cache (bench/module-loop.bench.ts measures
 * the two together). This benchmark packs the kit, then for our tarball and for create-vite@latest
 * (react-ts) runs `npm exec` on a cold cache (a new `--cache` each run) and reports the median wall
 * time to a generated project, the packages and bytes npm installed for the exec
 * (`<cache>/_npx/<hash>/node_modules`) and the files generated; then ours/create-vite ratios. It
 * also times the generator alone (repo source via tsx, and the bundled dist/ from the extracted
 * tarball), which needs no network.
 *
 *   npm run bench                        (BENCH_CREATE_ROUNDS=3 by default)
 *   node --import tsx bench/create.bench.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countPackages, treeStats } from '../test/helpers/node-modules.ts';

const ROUNDS = Math.max(1, Number(process.env.BENCH_CREATE_ROUNDS ?? 3));
const ROOT = path.resolve(import.meta.dirname, '..');
const TIMEOUT_MS = 180_000;

/** `npm run bench` exports the repo as npm's local prefix and package metadata; the children must not see them. */
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^npm_(package_|lifecycle_|config_local_prefix$)/i.test(key)),
);

class CommandError extends Error {}

const tmpDirs: string[] = [];
function tmpDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fm-create-bench-${label}-`));
  tmpDirs.push(dir);
  return dir;
}

/** Runs a command to completion with stdin closed (nothing can wait for input); returns its wall time in ms. */
function run(command: string, args: string[], cwd: string): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
  const ms = performance.now() - start;
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? (result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`);
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.split('\n').filter((line) => line.trim() && !line.includes('Unknown user config'));
    throw new CommandError(`\`${command} ${args.join(' ')}\` failed (${why}) in ${cwd}\n${output.slice(-20).join('\n')}`);
  }
  return ms;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

interface Tool { name: string; project: string; packageSpec: string; args: string[] }
interface Measure { ms: number; packages: number; bytes: number; files: number }

/** One cold `npm exec`: a new empty cache and a new working directory. */
function measure(tool: Tool): Measure {
  const cache = tmpDir('cache');
  const cwd = tmpDir('cwd');
  const time = run('npm', ['exec', '--yes', '--cache', cache, `--package=${tool.packageSpec}`, '--', ...tool.args], cwd);
  const project = path.join(cwd, tool.project);
  const generated = fs.existsSync(project) ? treeStats(project).files : 0;
  if (generated === 0) throw new CommandError(`${tool.name} exited 0 but wrote no files in ${project}`);
  const npx = path.join(cache, '_npx');
  const installs = fs.existsSync(npx) ? fs.readdirSync(npx).map((hash) => path.join(npx, hash, 'node_modules')).filter((dir) => fs.existsSync(dir)) : [];
  const [install, ...others] = installs;
  if (!install || others.length) throw new CommandError(`expected one npx install under ${npx}, found ${installs.length}`);
  return { ms: time, packages: countPackages(install), bytes: treeStats(install).bytes, files: generated };
}

try {
  console.log(`npm create: our kit beside create-vite (cold npm cache, ${ROUNDS} round(s), median)\n`);
  const packDir = tmpDir('pack');
  const packMs = run('npm', ['pack', '--pack-destination', packDir], ROOT);
  const [tarballName, ...extra] = fs.readdirSync(packDir).filter((name) => name.endsWith('.tgz'));
  if (!tarballName || extra.length) throw new CommandError(`npm pack did not leave exactly one tarball in ${packDir}`);
  const tarball = path.join(packDir, tarballName);
  console.log(`  npm pack (with the prepack build)   ${ms(packMs).padStart(9)}   ${tarballName}, ${(fs.statSync(tarball).size / 1e3).toFixed(0)} kB\n`);

  const ours: Tool = { name: 'create-foundation-module', project: 'bench-module', packageSpec: tarball, args: ['create-foundation-module', 'bench-module', '--yes'] };
  const vite: Tool = {
    name: 'create-vite@latest (react-ts)',
    project: 'bench-vite',
    packageSpec: 'create-vite@latest',
    args: ['create-vite', 'bench-vite', '--template', 'react-ts', '--no-interactive', '--no-immediate'],
  };
  const results = new Map<Tool, Measure[]>([[ours, []], [vite, []]]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const tool of round % 2 === 0 ? [ours, vite] : [vite, ours]) results.get(tool)!.push(measure(tool));
  }

  const summary = new Map<Tool, Measure>();
  const header = `  ${'tool'.padEnd(32)}${'packages'.padStart(9)}${'installed'.padStart(12)}${'to project'.padStart(12)}${'files'.padStart(7)}`;
  console.log(header);
  console.log(`  ${'-'.repeat(header.length - 2)}`);
  for (const [tool, runs] of results) {
    // Installs of one spec should not differ between runs; the last one is shown, time is the median.
    const row = { ...runs[runs.length - 1]!, ms: median(runs.map((r) => r.ms)) };
    summary.set(tool, row);
    console.log(`  ${tool.name.padEnd(32)}${String(row.packages).padStart(9)}${mb(row.bytes).padStart(12)}${ms(row.ms).padStart(12)}${String(row.files).padStart(7)}`);
    console.log(`  ${''.padEnd(32)}  runs: ${runs.map((r) => ms(r.ms)).join(', ')}`);
  }
  const [a, b] = [summary.get(ours)!, summary.get(vite)!];
  console.log(`\n  ours / create-vite   time ${(a.ms / b.ms).toFixed(2)}x   bytes installed ${(a.bytes / b.bytes).toFixed(2)}x   packages ${a.packages}/${b.packages}\n`);

  console.log('Generator alone (no npm, no network; node start-up included)');
  const extracted = tmpDir('extract');
  run('tar', ['xzf', tarball, '-C', extracted], ROOT);
  const generators = [
    { name: 'repo source (tsx)', bin: path.join(ROOT, 'bin/create-foundation-module.js'), id: 'bench-src' },
    { name: 'bundled dist/ (tarball)', bin: path.join(extracted, 'package/bin/create-foundation-module.js'), id: 'bench-dist' },
  ];
  const [source, bundled] = generators.map((generator) => {
    const runs = Array.from({ length: ROUNDS }, () => run(process.execPath, [generator.bin, generator.id, '--yes'], tmpDir('gen')));
    console.log(`  ${generator.name.padEnd(32)}${ms(median(runs)).padStart(12)}   runs: ${runs.map(ms).join(', ')}`);
    return median(runs);
  });
  console.log(`\n  bundled / source   ${(bundled! / source!).toFixed(2)}x`);
} catch (error) {
  if (!(error instanceof CommandError)) throw error;
  console.error(`\ncreate.bench: ${error.message}`);
  process.exitCode = 1;
} finally {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
}
