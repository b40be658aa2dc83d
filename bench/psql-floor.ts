/**
 * The floor the runner benches compare against: the same SQL sent as one plain `psql` script on
 * one connection, timed. Each statement commits on its own, as psql does by default.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Whether psql is installed (it sends the floor script); the benches skip without it. */
export function psqlAvailable(): boolean {
  return spawnSync('psql', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Runs `lines` as one psql script against `url`, stopping at the first error; returns seconds. */
export function timePsqlScript(url: string, lines: string[]): number {
  const script = path.join(os.tmpdir(), `fm-bench-floor-${process.pid}-${Date.now()}.sql`);
  fs.writeFileSync(script, ['\\set ON_ERROR_STOP on', ...lines].join('\n'));
  try {
    const started = performance.now();
    const run = spawnSync('psql', ['-q', '-X', '-f', script, url], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`psql failed: ${run.stderr}`);
    return seconds;
  } finally {
    fs.rmSync(script, { force: true });
  }
}
