/**
 * `foundation-module tenants create|list|drop` (issue 16): hostile arguments, many tenants in one
 * call with their migrations, listing, the drop guard, and the change notices other processes hear.
 */
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../cli/errors.ts';
import { CHANGES_CHANNEL, parseChange, type Change } from '../sandbox/data/changes.ts';
import { ensureTenant } from '../sandbox/data/tenants.ts';
import { databaseServers } from '../testing/databases.ts';
import { migrationDb } from './helpers/migration-fixtures.ts';
import { cleanUp, count, emptyFolder, enableGlobally, jsonLines, rowsPerTenant, tenantsInProcess, tenantsModule, tenantsProgram } from './helpers/tenants-cli.ts';

afterAll(cleanUp);

const LOG = {
  'tenant/001_init.sql': 'CREATE TABLE tn_log (n int);\n',
  // A second application of this file would show as a second row.
  'tenant/002_fill.sql': 'INSERT INTO tn_log VALUES (1);\n',
};

/** Nothing listens there: a command that got as far as connecting would fail otherwise than with usage. */
const NOWHERE = ['--database-url', 'postgres://nobody@127.0.0.1:1/none'];
const UUID_CODE = 'abcdef01-2345-6789-abcd-ef0123456789';

describe('foundation-module tenants: arguments', () => {
  it.each([
    [['frobnicate'], /Unknown tenants command "frobnicate"/],
    [['create'], /tenants create needs a tenant code/],
    [['create', 'acme', '--frobnicate'], /Unknown option --frobnicate/],
    [['create', 'ACME'], /"ACME" is not a tenant code: it must be 1–40 characters/],
    [['create', "acme'; DROP TABLE sys_tenant; --"], /is not a tenant code/],
    [['create', 'acme', UUID_CODE], /is not a tenant code: it must not look like a uuid/],
    [['create', 'abcdef0123456789abcdef0123456789'], /must not look like a uuid/],
    [['create', 'a'.repeat(41)], /is not a tenant code/],
    [['create', 'acme', 'beta', 'acme'], /Tenant code "acme" is given twice/],
    [['create', 'acme', '--name'], /--name needs a value/],
    [['create', 'acme', '--name', ''], /--name needs a value/],
    [['create', 'acme', '--name', 'A', '--name', 'B'], /--name is given 2 times/],
    [['create', 'acme', '--name', ' Acme'], /--name " Acme" must not start or end with spaces/],
    [['create', 'acme', '--name', 'Ac\u0007me'], /must not contain control characters/],
    [['create', 'acme', 'beta', '--name', 'Acme'], /--name is for one tenant, and 2 codes are given/],
    [['create', 'acme', 'beta', '--domain', 'acme.example'], /--domain is for one tenant/],
    [['create', 'acme', '--domain', 'https://acme.example'], /--domain "https:\/\/acme.example" must be a host name/],
    [['create', 'acme', '--domain', 'acme.example:8080'], /must be a host name/],
    [['create', 'acme', '--domain', 'acme.example.'], /no scheme, port, path or trailing dot/],
    [['create', 'acme', '--domain=-acme.example'], /must be a host name/],
    [['create', 'acme', '--domain', '10.0.0.1'], /not an IP address/],
    [['create', 'acme', '--domain', 'bücher.example'], /punycode/],
    [['create', 'acme', '--domain', `${'a'.repeat(64)}.example`], /each 1–63 characters/],
    [['create', 'acme', '--batch', '0'], /--batch must be a whole number from 1 to 10000/],
    [['create', 'acme', '--batch', 'ten'], /--batch must be a whole number/],
    [['create', 'acme', '--concurrency', '65'], /--concurrency must be a whole number from 1 to 64/],
    [['create', 'acme', '--concurrency', '-1'], /Unknown option --1/], // mri reads -1 as an option: still usage
    [['create', 'acme', '--modules'], /--modules needs a value/],
    [['create', 'acme', '--modules', '/nonexistent/module'], /\/nonexistent\/module is not a module directory/],
    [['create', 'acme', '--confirm', 'acme'], /--confirm is not an option of tenants create/],
    [['list', 'acme'], /tenants list takes no arguments/],
    [['list', '--batch', '2'], /--batch is not an option of tenants list/],
    [['drop'], /tenants drop needs a tenant code/],
    [['drop', 'acme'], /deletes its schema and all its data\. To go ahead, give its code again: --confirm acme/],
    [['drop', 'acme', '--confirm'], /--confirm needs a value/],
    [['drop', 'acme', '--confirm', 'acme2'], /--confirm "acme2" is not the code being dropped \("acme"\): nothing was dropped/],
    [['drop', 'acme', '--confirm', 'ACME'], /is not the code being dropped/],
    [['drop', 'acme', '--confirm', 'acme', '--confirm', 'acme'], /--confirm is given 2 times/],
    [['drop', 'acme', 'beta', '--confirm', 'acme'], /tenants drop takes one code at a time/],
    [['drop', UUID_CODE, '--confirm', UUID_CODE], /must not look like a uuid/],
    [['drop', 'acme', '--confirm', 'acme', '--lock-timeout', '1s'], /--lock-timeout must be a whole number/],
    [['drop', 'acme', '--confirm', 'acme', '--name', 'x'], /--name is not an option of tenants drop/],
    [['list', '--database-url'], /--database-url needs a value/],
  ])('tenants %j exits 2 naming the problem, before connecting', async (args, message) => {
    const given = args.includes('--database-url') ? args : [...args, ...NOWHERE];
    const { error } = await tenantsInProcess(given);
    expect(error).toBeInstanceOf(CliError);
    expect(error!.exitCode).toBe(2);
    expect(error!.message).toMatch(message);
  });

  it('prints its help with exit 2 when no subcommand is given, 0 with --help', async () => {
    expect(await tenantsInProcess([])).toMatchObject({ code: 2, lines: [expect.stringMatching(/Usage: foundation-module tenants <create\|list\|drop>/)] });
    expect((await tenantsInProcess(['--help'])).code).toBe(0);
  });

  it.each([
    [['drop', 'acme', ...NOWHERE], /^foundation-module: Dropping tenant "acme" deletes its schema/],
    [['create', UUID_CODE, ...NOWHERE], /^foundation-module: .* must not look like a uuid/],
  ])('as a program, tenants %j exits 2 with a one-line message', (args, message) => {
    const run = tenantsProgram(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe.each(databaseServers())('foundation-module tenants on $name PostgreSQL', (server) => {
  it('creates many codes in one call, in batches: rows, schemas and every file of the enabled plugin in each; run again, nothing twice', async (context) => {
    const dir = tenantsModule('tn', LOG);
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    await enableGlobally(db, 'tn');
    const codes = ['alpha', 'beta-corp', 'gamma', 'delta', 'epsilon'];
    const first = await tenantsInProcess(['create', ...codes, '--modules', dir, '--batch', '2', '--json', '--database-url', db.database.url]);
    expect(first.error).toBeUndefined();
    expect(first.code).toBe(0);
    const events = first.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((e) => e.event === 'tenant').map((e) => [e.code, e.state])).toEqual(codes.map((code) => [code, 'created']));
    expect(events.filter((e) => e.event === 'target').map((e) => e.tenant).sort()).toEqual([...codes].sort());
    expect(events.at(-1)).toMatchObject({ event: 'summary', exitCode: 0, created: 5, existing: 0, migrated: 5, failed: 0 });

    expect(await db.sql('SELECT code, name, domain, schema_name FROM sys_tenant ORDER BY code')).toEqual([
      { code: 'alpha', name: 'Alpha', domain: null, schema_name: 'tenant_alpha' },
      { code: 'beta-corp', name: 'Beta Corp', domain: null, schema_name: 'tenant_beta_corp' },
      { code: 'delta', name: 'Delta', domain: null, schema_name: 'tenant_delta' },
      { code: 'epsilon', name: 'Epsilon', domain: null, schema_name: 'tenant_epsilon' },
      { code: 'gamma', name: 'Gamma', domain: null, schema_name: 'tenant_gamma' },
    ]);
    const ledger = async () => db.sql<{ code: string; names: string[] }>(
      `SELECT t.code, array_agg(m.name ORDER BY m.name) AS names FROM sys_plugin_migrations m JOIN sys_tenant t ON t.id = m.tenant_id GROUP BY 1 ORDER BY 1`);
    expect(await ledger()).toEqual([...codes].sort().map((code) => ({ code, names: ['001_init.sql', '002_fill.sql'] })));
    expect([...(await rowsPerTenant(db, 'tn_log')).values()]).toEqual([1, 1, 1, 1, 1]);

    const again = await tenantsInProcess(['create', 'alpha', 'zeta', 'gamma', '--modules', dir, '--json', '--database-url', db.database.url]);
    expect(again.code).toBe(0);
    const againEvents = again.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(againEvents.filter((e) => e.event === 'tenant').map((e) => [e.code, e.state])).toEqual([['alpha', 'exists'], ['zeta', 'created'], ['gamma', 'exists']]);
    expect(againEvents.at(-1)).toMatchObject({ created: 1, existing: 2, migrated: 1, failed: 0 });
    expect(await count(db, 'SELECT count(*) FROM sys_plugin_migrations')).toBe(12);
    expect(new Set((await rowsPerTenant(db, 'tn_log')).values())).toEqual(new Set([1]));
  });

  it('takes --name and --domain for one code; list shows every tenant with its schema and plugins, and a missing schema is not recreated', async (context) => {
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    const url = db.database.url;
    expect((await tenantsInProcess(['create', 'acme-corp', '--name', 'ACME Corporation', '--domain', 'Shop.ACME.example', '--database-url', url])).code).toBe(0);
    expect((await tenantsInProcess(['create', 'plain', '--database-url', url])).code).toBe(0);
    await enableGlobally(db, 'tn');
    await db.sql(`INSERT INTO sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed) SELECT id, 'tn', true, '1.0.0' FROM sys_tenant WHERE code = 'acme-corp'`);
    await db.sql('DROP SCHEMA tenant_plain');

    const listed = await tenantsInProcess(['list', '--json', '--database-url', url]);
    expect(listed.code).toBe(0);
    expect(listed.lines).toHaveLength(1);
    expect(JSON.parse(listed.lines[0]!)).toEqual([
      { code: 'acme-corp', id: expect.any(String), name: 'ACME Corporation', domain: 'shop.acme.example', schema: 'tenant_acme_corp', schemaExists: true, pluginsEnabled: 1, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { code: 'plain', id: expect.any(String), name: 'Plain', domain: null, schema: 'tenant_plain', schemaExists: false, pluginsEnabled: 0, createdAt: expect.any(String) },
    ]);
    const table = await tenantsInProcess(['list', '--database-url', url]);
    expect(table.lines[0]).toMatch(/^ {2}code +id +name +domain +schema +schema exists +plugins on$/);
    expect(table.lines[2]).toMatch(/^ {2}plain +[0-9a-f-]{36} +Plain +tenant_plain +MISSING +0$/);
    // The kill switch wins over the tenant's own switch.
    await db.sql(`UPDATE sys_plugins SET enabled_global = false`);
    expect(JSON.parse((await tenantsInProcess(['list', '--json', '--database-url', url])).lines[0]!)[0]).toMatchObject({ pluginsEnabled: 0 });

    const recreate = await tenantsInProcess(['create', 'plain', '--json', '--database-url', url]);
    expect(recreate.code).toBe(1);
    expect(jsonLines(recreate.lines.join('\n')).at(-1)).toMatchObject({
      event: 'summary', exitCode: 1, existing: 1, failed: 1, failures: [{ tenant: 'plain', error: expect.stringMatching(/its schema "tenant_plain" is missing/) }],
    });
    expect(await count(db, `SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_plain'`)).toBe(0);
  });

  it('lists nothing, and writes nothing, on a database that has no system tables', async (context) => {
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    await db.sql('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    expect(await tenantsInProcess(['list', '--json', '--database-url', db.database.url])).toMatchObject({ code: 0, lines: ['[]'] });
    expect(await tenantsInProcess(['list', '--database-url', db.database.url])).toMatchObject({ code: 0, lines: [expect.stringMatching(/^No tenants/)] });
    expect(await count(db, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`)).toBe(0);
  });

  it('reports an enabled plugin without a module folder (exit 1) and still provisions the rest; with no module at all, creates tenants without migrations and says so', async (context) => {
    const dir = tenantsModule('tn', LOG);
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    const url = db.database.url;

    // No module anywhere and none enabled: tenants without migrations, a note, success.
    const bare = await tenantsInProcess(['create', 'bare', '--json', '--database-url', url], emptyFolder());
    expect(bare.code).toBe(0);
    expect(jsonLines(bare.lines.join('\n'))).toContainEqual({ event: 'note', message: expect.stringMatching(/^Tenants are created without migrations: no module folder in .*--modules/) });
    // A module found but not switched on globally is not migrated.
    const off = await tenantsInProcess(['create', 'off', '--modules', dir, '--json', '--database-url', url]);
    expect(off.code).toBe(0);
    expect(jsonLines(off.lines.join('\n'))).toContainEqual({ event: 'note', message: expect.stringMatching(/Module tn .* is not installed and enabled globally/) });
    expect(await count(db, 'SELECT count(*) FROM sys_plugin_migrations')).toBe(0);

    await enableGlobally(db, 'tn');
    await enableGlobally(db, 'ghost');
    const run = await tenantsInProcess(['create', 'haunted', '--modules', dir, '--json', '--database-url', url]);
    expect(run.code).toBe(1);
    const events = jsonLines(run.lines.join('\n'));
    expect(events).toContainEqual({ event: 'warning', plugin: 'ghost', message: expect.stringMatching(/Plugin "ghost" is enabled but no module folder given has it/) });
    expect(events.at(-1)).toMatchObject({ event: 'summary', exitCode: 1, created: 1, migrated: 1, failed: 0 });
    expect(await count(db, `SELECT count(*) FROM sys_plugin_migrations m JOIN sys_tenant t ON t.id = m.tenant_id WHERE t.code = 'haunted'`)).toBe(2);
    expect(await count(db, 'SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1)', [['tenant_bare', 'tenant_off', 'tenant_haunted']])).toBe(3);
  });

  it('fails only the tenant whose schema exists without a tenant, or whose domain is taken; the rest of its batch is created', async (context) => {
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    const url = db.database.url;
    await db.sql('CREATE SCHEMA tenant_orphan; CREATE TABLE tenant_orphan.secrets (s text)');
    const run = await tenantsInProcess(['create', 'first', 'orphan', 'last', '--json', '--database-url', url]);
    expect(run.code).toBe(1);
    const events = jsonLines(run.lines.join('\n'));
    expect(events.filter((e) => e.event === 'tenant').map((e) => [e.code, e.state])).toEqual([['first', 'created'], ['orphan', 'failed'], ['last', 'created']]);
    expect(events.find((e) => e.code === 'orphan')!.error).toMatch(/schema "tenant_orphan" already exists and belongs to no tenant/);
    expect(await db.sql('SELECT code FROM sys_tenant ORDER BY 1')).toEqual([{ code: 'first' }, { code: 'last' }]);

    expect((await tenantsInProcess(['create', 'owner', '--domain', 'shop.example', '--database-url', url])).code).toBe(0);
    const taken = await tenantsInProcess(['create', 'thief', '--domain', 'SHOP.example', '--json', '--database-url', url]);
    expect(taken.code).toBe(1);
    expect(jsonLines(taken.lines.join('\n'))[0]).toMatchObject({ event: 'tenant', code: 'thief', state: 'failed', error: 'domain "shop.example" already belongs to tenant "owner"' });
    expect(await count(db, `SELECT count(*) FROM sys_tenant WHERE code = 'thief'`)).toBe(0);
  });

  it('drops only with --confirm <same code>: schema, row and ledger rows gone (foreign keys), other tenants untouched', async (context) => {
    const dir = tenantsModule('tn', LOG);
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    const url = db.database.url;
    await enableGlobally(db, 'tn');
    expect((await tenantsInProcess(['create', 'doomed', 'kept', '--modules', dir, '--database-url', url])).code).toBe(0);
    const [doomed] = await db.sql<{ id: string }>(`SELECT id::text AS id FROM sys_tenant WHERE code = 'doomed'`);
    await db.sql(`INSERT INTO sys_tenant_plugins (tenant_id, plugin_id, enabled, version_installed) VALUES ($1, 'tn', true, '1.0.0')`, [doomed!.id]);
    await db.sql(`INSERT INTO sys_migration_quarantine (plugin_id, schema_name, tenant_id, failures) VALUES ('tn', 'tenant_doomed', $1, 3)`, [doomed!.id]);

    for (const refused of [['drop', 'doomed'], ['drop', 'doomed', '--confirm', 'kept']]) {
      expect((await tenantsInProcess([...refused, '--database-url', url])).error).toMatchObject({ exitCode: 2 });
    }
    expect(await count(db, `SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_doomed'`)).toBe(1);

    const dropped = await tenantsInProcess(['drop', 'doomed', '--confirm', 'doomed', '--json', '--database-url', url]);
    expect(dropped.code).toBe(0);
    expect(JSON.parse(dropped.lines[0]!)).toEqual({ event: 'dropped', id: doomed!.id, code: 'doomed', schema: 'tenant_doomed', schemaExisted: true });
    expect(await count(db, `SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_doomed'`)).toBe(0);
    expect(await count(db, `SELECT count(*) FROM sys_tenant WHERE id = $1`, [doomed!.id])).toBe(0);
    expect(await count(db, `SELECT count(*) FROM sys_plugin_migrations WHERE tenant_id = $1`, [doomed!.id])).toBe(0);
    expect(await count(db, `SELECT count(*) FROM sys_tenant_plugins WHERE tenant_id = $1`, [doomed!.id])).toBe(0);
    expect(await count(db, `SELECT count(*) FROM sys_migration_quarantine WHERE schema_name = 'tenant_doomed'`)).toBe(0);
    expect(await count(db, `SELECT count(*) FROM sys_plugin_migrations m JOIN sys_tenant t ON t.id = m.tenant_id WHERE t.code = 'kept'`)).toBe(2);
    expect((await rowsPerTenant(db, 'tn_log')).get('kept')).toBe(1);

    const again = await tenantsInProcess(['drop', 'doomed', '--confirm', 'doomed', '--database-url', url]);
    expect(again.error).toMatchObject({ exitCode: 1, message: expect.stringMatching(/There is no tenant "doomed": nothing was dropped/) });
  });

  it('refuses to drop a tenant whose tables stay locked, with exit 3, dropping nothing', async (context) => {
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    const url = db.database.url;
    expect((await tenantsInProcess(['create', 'busy', '--database-url', url])).code).toBe(0);
    await db.sql('CREATE TABLE tenant_busy.work (n int)');
    const holder = await db.pool.connect();
    context.onTestFinished(() => holder.release());
    await holder.query('BEGIN; LOCK TABLE tenant_busy.work IN ACCESS SHARE MODE');
    const run = await tenantsInProcess(['drop', 'busy', '--confirm', 'busy', '--lock-timeout', '200', '--database-url', url]);
    await holder.query('ROLLBACK');
    expect(run.error).toMatchObject({ exitCode: 3, message: expect.stringMatching(/Tenant "busy" is in use .*200 ms.*nothing was dropped/) });
    expect(await count(db, `SELECT count(*) FROM sys_tenant WHERE code = 'busy'`)).toBe(1);
    expect(await count(db, `SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_busy'`)).toBe(1);
  });

  it('sends a tenants change on foundation_changes that a listening client receives, when tenants are created and dropped', async (context) => {
    const db = await migrationDb(server.url);
    context.onTestFinished(() => db.close());
    const url = db.database.url;
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    context.onTestFinished(() => listener.end());
    const heard: Change[] = [];
    listener.on('notification', (message) => {
      // A drop also removes the tenant's enablement rows (its own notification): only tenant changes are counted here.
      const change = parseChange(message.payload);
      if (message.channel === CHANGES_CHANNEL && change?.kind === 'tenants') heard.push(change);
    });
    await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
    const until = async (n: number) => {
      for (let waited = 0; heard.length < n && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(heard).toHaveLength(n);
    };
    const idOf = async (code: string) => (await db.sql<{ id: string }>('SELECT id::text AS id FROM sys_tenant WHERE code = $1', [code]))[0]!.id;

    expect((await tenantsInProcess(['create', 'north', 'south', '--database-url', url])).code).toBe(0);
    await until(1);
    // Named in the order of their ids (the trigger aggregates the statement's rows).
    expect(heard[0]).toEqual({ kind: 'tenants', tenantIds: [await idOf('north'), await idOf('south')].sort() });
    // An existing tenant changes nothing, so nothing is sent; the drop that follows is the next notice.
    expect((await tenantsInProcess(['create', 'north', '--database-url', url])).code).toBe(0);
    const northId = await idOf('north');
    expect((await tenantsInProcess(['drop', 'north', '--confirm', 'north', '--database-url', url])).code).toBe(0);
    await until(2);
    expect(heard[1]).toEqual({ kind: 'tenants', tenantIds: [northId] });

    // The dev data's ensureTenant sends one when it creates, none when the tenant is there.
    const client = await db.pool.connect();
    try {
      await ensureTenant(client, { code: 'seeded', name: 'Seeded' });
      await ensureTenant(client, { code: 'seeded', name: 'Seeded' });
    } finally {
      client.release();
    }
    await until(3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard.slice(2)).toEqual([{ kind: 'tenants', tenantIds: [await idOf('seeded')] }]);
  });
});

describe('foundation-module tenants without a database URL', () => {
  it('works on the embedded PostgreSQL of --sandbox-dir', () => {
    const sandboxDir = emptyFolder();
    fs.chmodSync(sandboxDir, 0o755);
    const env = { DATABASE_URL: '' };
    const created = tenantsProgram(['create', 'solo', '--sandbox-dir', sandboxDir], env);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/created +existing +migrated +failed\n +1 +0 +0 +0/);
    const listed = tenantsProgram(['list', '--json', '--sandbox-dir', sandboxDir], env);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ code: 'solo', schema: 'tenant_solo', schemaExists: true })]);
  });
});
