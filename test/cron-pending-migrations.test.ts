/**
 * Issue 25, item 6: cron skips a tenant until every migration of the job's plugin has run there.
 * A job used to run (and log an error at every tick) in a tenant created after the start and not
 * migrated yet, or one where the code's latest migration was still pending. Table of both: no run
 * and no error there, the other tenants run, and the job runs there once `migrate up` has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../cli/commands/migrate.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { capabilityModule, capturedLogger, removeCapabilityModules } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

const GATED = `
const plugin: FoundationPlugin = {
  meta: { id: 'gated', version: '1.0.0', api: '1.1' },
  async register(ctx: PluginContext) {
    ctx.cron.register('0 3 * * *', async ({ tenantId }) => {
      await ctx.withTenantTx(tenantId, (db) => db.execute(sql\`INSERT INTO gated_runs (note) VALUES ('nightly')\`));
    });
  },
};
export default plugin;
`;

/** How each case leaves tenant acme: as if the files had not run there (the ledger's rows gone with what they made). */
const PENDING = [
  {
    state: 'none of the plugin\'s migrations ran (a tenant created after the start, before migrate up)',
    undo: `DROP TABLE tenant_acme.gated_runs; DELETE FROM public.sys_plugin_migrations WHERE plugin_id = 'gated' AND tenant_id = $1`,
  },
  {
    state: 'the plugin\'s latest migration is pending',
    undo: `ALTER TABLE tenant_acme.gated_runs DROP COLUMN note; DELETE FROM public.sys_plugin_migrations WHERE plugin_id = 'gated' AND tenant_id = $1 AND name = '002_note.sql'`,
  },
];

describe.each(databaseServers())('cron and pending migrations on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  let moduleDir: string;
  const log = capturedLogger();
  beforeAll(async () => {
    moduleDir = capabilityModule('gated', {
      plugin: GATED,
      migrations: {
        'tenant/001_init.sql': 'CREATE TABLE gated_runs (id serial PRIMARY KEY);\n',
        'tenant/002_note.sql': 'ALTER TABLE gated_runs ADD COLUMN note text;\n',
      },
    });
    t = await startTestSandbox({ moduleDirs: [moduleDir], serverUrl: server.url, logger: log.logger });
  });
  afterAll(() => t?.close());

  const runs = async (schema: string) => ((await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.gated_runs`))[0]!.n);
  const problems = (from: number) => log.lines().slice(from).filter((line) => (line.level as number) >= 50);

  it.each(PENDING)('runs no job and logs no error in a tenant where $state, and runs there once migrate up has', async ({ undo }) => {
    const acme = (await t.sandbox.tenancy.get('acme')).id;
    for (const statement of undo.split('; ')) await t.sql(statement, statement.includes('$1') ? [acme] : []);
    const devBefore = await runs('tenant_dev');
    const from = log.lines().length;

    await t.sandbox.cron.runAll();
    await t.sandbox.cron.runAll();
    expect(problems(from), 'no error logged').toEqual([]);
    expect(await runs('tenant_dev')).toBe(devBefore + 2); // the other tenants run
    const waiting = log.lines().slice(from).filter((line) => line.tenantId === acme);
    expect(waiting, 'said once, at warn, not at every tick').toEqual([expect.objectContaining({ level: 40, pluginId: 'gated', msg: expect.stringContaining('until its migrations there have run') })]);

    const output: string[] = [];
    expect(await migrateCommand(['up', '--database-url', t.database.url], { cwd: moduleDir, write: (line) => output.push(line) }), output.join('\n')).toBe(0);
    const acmeBefore = await runs('tenant_acme');
    await t.sandbox.cron.runAll();
    expect(problems(from)).toEqual([]);
    expect(await runs('tenant_acme')).toBe(acmeBefore + 1);
  });
});
