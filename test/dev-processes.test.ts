/**
 * How `foundation-module dev` runs its two processes (cli/dev/processes.ts), with real Node
 * processes: each line prefixed with its name, the other stopped when one dies, and a signal to
 * dev passed on to both.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runTogether } from '../cli/dev/processes.ts';

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += chunk));
  return { stream, text: () => text };
}

const script = (code: string) => ['-e', code];
const LONG = 'setInterval(() => {}, 1000); process.on("SIGTERM", () => { console.log("stopping"); process.exit(0); });';

describe('runTogether', () => {
  it('prefixes every line with its process name, a last line without a newline too', async () => {
    const out = collect();
    // The shell prints and waits to be stopped, as it would be when the API ends.
    await runTogether([
      { name: 'api', args: script('process.stdout.write("one\\ntwo\\nthree"); setTimeout(() => {}, 500);'), color: 36 },
      { name: 'shell', args: script('console.error("oops"); setInterval(() => {}, 1000);'), color: 35 },
    ], { cwd: process.cwd(), env: { ...process.env, FORCE_COLOR: '0' }, stdout: out.stream, stderr: out.stream });
    expect(out.text().split('\n').filter(Boolean).sort()).toEqual(['[api] one', '[api] three', '[api] two', '[shell] oops']);
  });

  it('stops the other process when one dies, and answers 1', async () => {
    const out = collect();
    const started = Date.now();
    const code = await runTogether([
      { name: 'api', args: script('setTimeout(() => process.exit(3), 200)'), color: 36 },
      { name: 'shell', args: script(LONG), color: 35 },
    ], { cwd: process.cwd(), env: process.env, stdout: out.stream, stderr: out.stream });
    expect(code).toBe(1);
    expect(out.text()).toContain('[shell] stopping');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers 1 when a process cannot start at all', async () => {
    const out = collect();
    const code = await runTogether([
      { name: 'api', args: ['/no/such/entry.js'], color: 36 },
      { name: 'shell', args: script(LONG), color: 35 },
    ], { cwd: process.cwd(), env: process.env, stdout: out.stream, stderr: out.stream });
    expect(code).toBe(1);
    expect(out.text()).toMatch(/\[api\] .*Cannot find module/);
  });

  it('passes a SIGTERM to dev on to both processes, and answers 0', async () => {
    const out = collect();
    const running = runTogether([
      { name: 'api', args: script(LONG), color: 36 },
      { name: 'shell', args: script(LONG), color: 35 },
    ], { cwd: process.cwd(), env: process.env, stdout: out.stream, stderr: out.stream });
    await new Promise((r) => setTimeout(r, 500));
    process.emit('SIGTERM', 'SIGTERM');
    expect(await running).toBe(0);
    expect(out.text()).toContain('[api] stopping');
    expect(out.text()).toContain('[shell] stopping');
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });
});
