/**
 * The audit log on both servers: every change to the registries is logged in its own transaction,
 * by whoever makes it (the CLI as a program with --actor, a service called inside `actAs`, psql
 * with no actor), with before → after; a rolled-back change leaves nothing; the log refuses to be
 * changed; rows count their revisions; reading filters, pages and exports it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { auditCsv, auditJsonLines, auditLogEntries, readAuditLog, type AuditEntry } from '../operations/audit/audit-log.ts';
import { disablePlugin, findTenants } from '../operations/registry/enablement.ts';
import { inTransaction } from '../sandbox/data/database.ts';
import { actAs } from '../sandbox/data/transaction-actor.ts';
import { databaseServers } from '../testing/databases.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { migrationDb, type MigrationDb } from './helpers/migration-fixtures.ts';
import { KAPPA_FILES, moduleWithMeta } from './helpers/plugins-fixtures.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'foundation-module.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, FOUNDATION_ACTOR: '', ...env }, timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const pick = (entries: AuditEntry[]) => entries.map(({ actor, source, action, pluginId, tenantCode, before, after, reason }) => ({ actor, source, action, pluginId, tenantCode, before, after, reason }));

describe.each(databaseServers())('the audit log on $name PostgreSQL', (server) => {
  let db: MigrationDb;
  let dir: string;
  const latest = async (n: number) => (await readAuditLog(db.pool, {}, { limit: n })).entries.reverse();

  beforeEach(async (context) => {
    dir = moduleWithMeta('kappa', KAPPA_FILES);
    dirs.push(dir);
    db = await migrationDb(server.url, 2);
    context.onTestFinished(() => db.close());
  });

  it('logs what the CLI changes under --actor, FOUNDATION_ACTOR or the system user, with before and after', async () => {
    const url = ['--database-url', db.database.url];
    expect(cli(['--actor', 'alice@ops.example', 'plugins', 'enable', 'kappa', '--tenant', 't0001', '--modules', dir, ...url]).code).toBe(0);
    expect(cli(['plugins', 'disable', 'kappa', '--tenant', 't0001', ...url], { FOUNDATION_ACTOR: 'deploy-bot' }).code).toBe(0);
    expect(cli(['tenants', 'create', 'zulu', ...url]).code).toBe(0);

    const entries = (await readAuditLog(db.pool, {})).entries.reverse();
    const enable = entries.filter((e) => e.actor === 'alice@ops.example');
    expect(enable.every((e) => e.source === 'cli')).toBe(true);
    expect(pick(enable).filter((e) => e.tenantCode === 't0001')).toEqual([
      { actor: 'alice@ops.example', source: 'cli', action: 'plugin.install', pluginId: 'kappa', tenantCode: 't0001', before: null, after: { enabled: true, version: '1.0.0' }, reason: null },
    ]);
    expect(pick(entries.filter((e) => e.actor === 'deploy-bot'))).toEqual([
      { actor: 'deploy-bot', source: 'cli', action: 'plugin.disable', pluginId: 'kappa', tenantCode: 't0001', before: { enabled: true }, after: { enabled: false }, reason: null },
    ]);
    const created = entries.find((e) => e.action === 'tenant.create' && e.tenantCode === 'zulu')!;
    expect(created).toMatchObject({ source: 'cli', after: { code: 'zulu', schema: 'tenant_zulu' } });
    expect(created.actor).not.toBe('');
    expect(created.actor).not.toBe('alice@ops.example');
  });

  it('logs what migrate up changes outside any transaction of its own (the plugin\'s row, its version) under the actor too', async () => {
    expect(cli(['--actor', 'mia', 'migrate', 'up', dir, '--database-url', db.database.url]).code).toBe(0);
    const entries = await db.sql<{ actor: string; action: string }>(`SELECT DISTINCT actor, action FROM sys_audit_log WHERE plugin_id = 'kappa' ORDER BY action`);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.actor === 'mia')).toBe(true);
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['plugin.install', 'plugin.version']));
  });

  it('logs a change made inside actAs with its request id and reason, and one from psql under the database user', async () => {
    expect(cli(['plugins', 'enable', 'kappa', '--modules', dir, '--database-url', db.database.url]).code).toBe(0);
    await actAs({ actor: 'bob@ops.example', source: 'api', requestId: 'req-7', reason: 'incident 42: kappa leaks memory' }, () => disablePlugin(db.pool, 'kappa'));
    expect(pick(await latest(1))).toEqual([
      { actor: 'bob@ops.example', source: 'api', action: 'plugin.global.disable', pluginId: 'kappa', tenantCode: null, before: { enabledGlobal: true }, after: { enabledGlobal: false }, reason: 'incident 42: kappa leaks memory' },
    ]);
    expect((await latest(1))[0]!.requestId).toBe('req-7');

    await db.sql(`UPDATE sys_plugins SET config = '{"pageSize": 5}' WHERE plugin_id = 'kappa'`);
    const [bySql] = await latest(1);
    expect(bySql).toMatchObject({ source: 'sql', action: 'plugin.config', before: { config: {} }, after: { config: { pageSize: 5 } } });
    expect(bySql!.actor).toBe((await db.sql<{ u: string }>('SELECT session_user AS u'))[0]!.u);
  });

  it('keeps nothing of a change that rolled back, and nothing for a write that changed nothing', async () => {
    expect(cli(['plugins', 'enable', 'kappa', '--tenant', 't0001', '--modules', dir, '--database-url', db.database.url]).code).toBe(0);
    const count = async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM sys_audit_log'))[0]!.n;
    const before = await count();
    const client = await db.pool.connect();
    try {
      await expect(actAs({ actor: 'carol', source: 'api' }, () => inTransaction(client, async () => {
        await client.query(`UPDATE sys_tenant_plugins SET enabled = false WHERE plugin_id = 'kappa'`);
        throw new Error('changed my mind');
      }))).rejects.toThrow('changed my mind');
    } finally {
      client.release();
    }
    await db.sql(`UPDATE sys_tenant_plugins SET enabled = true WHERE plugin_id = 'kappa'`);
    expect(await count()).toBe(before);
  });

  it('refuses to change or remove an entry, for every statement that would', async () => {
    expect(cli(['tenants', 'create', 'zulu', '--database-url', db.database.url]).code).toBe(0);
    const before = await db.sql('SELECT * FROM sys_audit_log ORDER BY id');
    for (const statement of ['UPDATE sys_audit_log SET actor = \'nobody\'', 'DELETE FROM sys_audit_log', 'TRUNCATE sys_audit_log', 'DELETE FROM sys_audit_log WHERE false']) {
      await expect(db.sql(statement), statement).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/sys_audit_log is append-only: (UPDATE|DELETE|TRUNCATE) refused/) });
    }
    expect(await db.sql('SELECT * FROM sys_audit_log ORDER BY id')).toEqual(before);
  });

  it('counts each row\'s changes in revision, with who made the last one', async () => {
    expect(cli(['--actor', 'alice', 'plugins', 'enable', 'kappa', '--tenant', 't0001', '--modules', dir, '--database-url', db.database.url]).code).toBe(0);
    const row = async () => (await db.sql<{ revision: number; updated_by: string }>(`SELECT revision::int, updated_by FROM sys_tenant_plugins WHERE plugin_id = 'kappa'`))[0];
    expect(await row()).toEqual({ revision: 1, updated_by: 'alice' });
    expect(cli(['--actor', 'bob', 'plugins', 'disable', 'kappa', '--tenant', 't0001', '--database-url', db.database.url]).code).toBe(0);
    expect(await row()).toEqual({ revision: 2, updated_by: 'bob' });
    // Disabling again changes nothing: neither the revision nor the log.
    expect(cli(['--actor', 'carol', 'plugins', 'disable', 'kappa', '--tenant', 't0001', '--database-url', db.database.url]).code).toBe(0);
    expect(await row()).toEqual({ revision: 2, updated_by: 'bob' });
    expect(await db.sql(`SELECT count(*)::int AS n FROM sys_audit_log WHERE actor = 'carol'`)).toEqual([{ n: 0 }]);
  });

  it('filters by tenant, plugin, actor, action and time, and pages from newest to oldest without gaps', async () => {
    const { tenants } = await findTenants(db.pool, 'all');
    const client = await db.pool.connect();
    try {
      for (let i = 0; i < 7; i++) {
        await actAs({ actor: i % 2 ? 'odd' : 'even', source: 'api' }, () => inTransaction(client, () =>
          client.query(`UPDATE sys_tenant SET name = $1 WHERE id = $2`, [`Name ${i}`, tenants[i % 2]!.id])));
      }
    } finally {
      client.release();
    }
    const renames = { action: 'tenant.update' };
    expect((await readAuditLog(db.pool, { ...renames, actor: 'odd' })).entries).toHaveLength(3);
    expect((await readAuditLog(db.pool, { ...renames, tenant: 't0001' })).entries.map((e) => e.after)).toEqual([{ name: 'Name 6' }, { name: 'Name 4' }, { name: 'Name 2' }, { name: 'Name 0' }]);
    expect((await readAuditLog(db.pool, { ...renames, plugin: 'kappa' })).entries).toEqual([]);
    expect((await readAuditLog(db.pool, { ...renames, from: new Date(Date.now() + 60_000) })).entries).toEqual([]);
    expect((await readAuditLog(db.pool, { ...renames, to: new Date(Date.now() + 60_000) })).entries).toHaveLength(7);

    const seen: string[] = [];
    let page = await readAuditLog(db.pool, renames, { limit: 3 });
    for (;;) {
      seen.push(...page.entries.map((e) => e.id));
      if (!page.next) break;
      page = await readAuditLog(db.pool, renames, { limit: 3, before: page.next });
    }
    const all = (await readAuditLog(db.pool, renames)).entries.map((e) => e.id);
    expect(seen).toEqual(all);
    expect(all).toEqual([...all].sort((a, b) => Number(b) - Number(a)));
    const exported: string[] = [];
    for await (const batch of auditLogEntries(db.pool, renames)) exported.push(...batch.map((e) => e.id));
    expect(exported).toEqual(all);
  });

  it.each([
    ['a cursor that is not a number', '1; DROP TABLE sys_tenant'],
    ['a negative cursor', '-1'],
    ['a cursor past bigint', '99999999999999999999'],
  ])('refuses %s without running it', async (_what, cursor) => {
    await expect(readAuditLog(db.pool, {}, { before: cursor })).rejects.toThrow(/is not one this log gave/);
    expect(await db.sql(`SELECT to_regclass('public.sys_tenant') IS NOT NULL AS ok`)).toEqual([{ ok: true }]);
  });
});

describe('exporting the audit log', () => {
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    id: '1', at: '2026-12-05T00:00:00.000000Z', actor: 'alice', source: 'api', action: 'plugin.disable', pluginId: 'kappa', tenantId: null,
    tenantCode: 'acme', before: { enabled: true }, after: { enabled: false }, reason: null, requestId: null, ...over,
  });

  it('writes one JSON object per line', () => {
    const lines = auditJsonLines([entry({}), entry({ id: '2', reason: 'a "quoted"\nline' })]).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([entry({}), entry({ id: '2', reason: 'a "quoted"\nline' })]);
  });

  it('writes CSV that a spreadsheet reads as text: formulas defused, commas, quotes and newlines quoted', () => {
    const csv = auditCsv([entry({ actor: '=HYPERLINK("http://evil")', reason: 'a, "b"\nc' }), entry({ actor: '+1', reason: '@SUM(A1)' })], { header: true });
    const lines = csv.split('\r\n').length > 1 ? csv.split('\r\n') : csv.split('\n');
    expect(lines[0]).toBe('id,at,actor,source,action,pluginId,tenantId,tenantCode,before,after,reason,requestId');
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv).toContain('"a, ""b""\nc"');
    expect(csv).toContain(`'+1`);
    expect(csv).toContain(`'@SUM(A1)`);
    expect(csv).toContain('"{""enabled"":true}"');
  });
});

describe('who acts, as the CLI is told', () => {
  it.each([
    ['an empty --actor', ['--actor', '', 'tenants', 'list'], /--actor "" can't name who acts: it is empty/],
    ['a newline in --actor', ['--actor', 'eve\nadmin', 'tenants', 'list'], /--actor "eve\\nadmin" can't name who acts: it holds a control character/],
    ['a 501-character --actor', ['--actor', 'x'.repeat(501), 'tenants', 'list'], /longer than 500 characters/],
    ['--actor with no name', ['--actor'], /--actor needs a name/],
  ])('refuses %s with a usage error, running nothing', (_what, args, message) => {
    const run = cli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('refuses a FOUNDATION_ACTOR it can\'t log', () => {
    const run = cli(['tenants', 'list'], { FOUNDATION_ACTOR: 'a\rb' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/FOUNDATION_ACTOR "a\\rb" can't name who acts: it holds a control character/);
  });
});
