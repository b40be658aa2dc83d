/**
 * `migrate down` of every file of a plugin in a tenant leaves none of its tables there: the plugin
 * is switched off in that tenant (403 PLUGIN_DISABLED, not a 500 from a missing table), the summary
 * says how to bring it back, and the sandbox's next start installs and switches it on again.
 */
import fs from 'node:fs';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { databaseServers, startTestSandbox } from '../testing/index.ts';
import { moduleVariant } from './helpers/examples.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(databaseServers())('migrate down of every file on $name PostgreSQL', (server) => {
  it('switches the plugin off where its tables are gone; a later start brings it back', async (context) => {
    const dir = moduleVariant({});
    dirs.push(dir);
    const t = await startTestSandbox({ moduleDirs: [dir], serverUrl: server.url });
    context.onTestFinished(() => t.close());
    const items = () => t.as('admin@sandbox.dev', 'acme').get('/api/plugins/items/items');
    expect((await items()).status).toBe(200);

    const lines: string[] = [];
    expect(await migrateCommand(['down', dir, '--to', '0', '--tenant', 'acme', '--database-url', t.database.url], { cwd: os.tmpdir(), write: (line) => lines.push(line) })).toBe(0);
    expect(lines.join('\n')).toMatch(/items is now switched off in tenant\(s\) acme: none of its migrations is applied there, so its routes answer 403 PLUGIN_DISABLED\. To bring it back: foundation-module plugins enable items --tenant acme/);
    const refused = await eventually(items, (response) => response.status !== 200);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'PLUGIN_DISABLED', pluginId: 'items' });
    // The other tenant keeps its tables and its plugin.
    expect((await t.as('admin@sandbox.dev', 'dev').get('/api/plugins/items/items')).status).toBe(200);

    const json: string[] = [];
    expect(await migrateCommand(['down', dir, '--to', '0', '--database-url', t.database.url, '--json'], { cwd: os.tmpdir(), write: (line) => json.push(line) })).toBe(0);
    const summary = JSON.parse(json.at(-1)!) as { retired: unknown };
    expect(summary.retired).toEqual([{ pluginId: 'items', tenants: ['dev'], everywhere: true }]);
    expect(await t.sql(`SELECT version_installed FROM sys_plugins WHERE plugin_id = 'items'`)).toEqual([{ version_installed: '0.0.0' }]);

    const again = await createSandbox({ moduleDirs: [dir], databaseUrl: t.database.url, logger: createLogger({ level: 'silent' }), maxConnections: 4 });
    try {
      expect(again.bootstrapReport.applied.sort()).toEqual(['items:tenant/001_init.sql@acme', 'items:tenant/001_init.sql@dev']);
      expect(await t.sql(`SELECT count(*)::int AS n FROM sys_tenant_plugins WHERE plugin_id = 'items' AND enabled AND version_installed <> '0.0.0'`)).toEqual([{ n: 2 }]);
      expect((await eventually(items, (response) => response.status === 200)).status).toBe(200);
    } finally {
      await again.close();
    }
  });
});
