/**
 * Issue 25, item 8: behind PgBouncer as most production poolers run it (transaction pooling, its
 * default settings, so no `ignore_startup_parameters`), the sandbox and the operator commands
 * connect and work. PgBouncer refuses a connection whose startup packet carries a parameter it does
 * not know (`statement_timeout`…), and a session-level SET would outlive the transaction and reach
 * other clients of the same server connection; timeouts are set per transaction there instead.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionModeFromEnv } from '../sandbox/data/connection-mode.ts';
import { inTransaction, openDatabase } from '../sandbox/data/database.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createLogger } from '../sandbox/logger.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../testing/databases.ts';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { ITEMS_MODULE } from './helpers/examples.ts';
import { pgbouncerProgram, startPgBouncer, type PgBouncer } from './helpers/pgbouncer.ts';
import { fixtureModule } from './helpers/migration-fixtures.ts';
import { probeModule } from './helpers/probe-module.ts';
import { CLI, emptyFolder } from './helpers/tenants-cli.ts';

const ADMIN = 'admin@sandbox.dev';
const SETTINGS = `SELECT current_setting('statement_timeout') AS statement, current_setting('idle_in_transaction_session_timeout') AS idle`;
const ITEMS = '/api/plugins/items/items';
const installed = pgbouncerProgram() !== undefined;
const skipped = installed ? '' : ' (skipped: pgbouncer is not installed; apt-get install pgbouncer)';

/** The operator program, as an operator runs it, through PgBouncer. */
function operator(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: emptyFolder(), env: { ...process.env, DATABASE_URL: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A setting as a fresh client of PgBouncer sees it: what a session-level SET left on a server connection shows here. */
async function settingSeenByAnotherClient(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ value: string }>('SELECT pg_catalog.current_setting($1) AS value', [name])).rows[0]!.value;
  } finally {
    await client.end();
  }
}

/**
 * Advisory locks held in `database`, asked straight of the server. Behind a transaction pooler a
 * session-level lock stays on the server connection that took it, which the pooler hands to others.
 */
async function advisoryLocksHeld(serverUrl: string, database: string): Promise<unknown[]> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    return (await admin.query(
      `SELECT l.objid, a.application_name FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)
        WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = $1)`, [database])).rows;
  } finally {
    await admin.end();
  }
}

describe('how the sandbox finds out whether a pooler is between it and PostgreSQL', () => {
  it.each(databaseServers())('straight to $name PostgreSQL: direct, with the timeouts in the startup packet', async (server) => {
    const database = await createThrowawayDatabase(server.url);
    const opened = await openDatabase({ databaseUrl: database.url, statementTimeoutMs: 1_234, connectionMode: 'auto' });
    try {
      expect(opened.connectionMode).toBe('direct');
      const { rows } = await opened.pool.query(`SELECT current_setting('statement_timeout') AS statement`);
      expect(rows).toEqual([{ statement: '1234ms' }]);
    } finally {
      await opened.close();
      await database.drop();
    }
  });

  it.each([
    ['postgres://nobody@127.0.0.1:1/none', /Cannot connect to PostgreSQL at SANDBOX_SESSION_DATABASE_URL postgres:\/\/nobody@127\.0\.0\.1:1\/none: .*ECONNREFUSED/],
    ['postgres://u:secret@127.0.0.1:1/none', /SANDBOX_SESSION_DATABASE_URL postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/none/],
  ])('a session URL that does not answer (%s) refuses the start, naming it', async (sessionDatabaseUrl, message) => {
    const database = await createThrowawayDatabase(databaseServers()[0]!.url);
    try {
      await expect(openDatabase({ databaseUrl: database.url, sessionDatabaseUrl })).rejects.toThrow(message);
    } finally {
      await database.drop();
    }
  });

  it.each([
    ['', 'auto'], ['auto', 'auto'], [' Pooled ', 'pooled'], ['direct', 'direct'],
    ['transaction', /SANDBOX_CONNECTION_MODE must be "auto", "direct" or "pooled" \(got "transaction"\)/],
    ['pgbouncer', /must be "auto", "direct" or "pooled"/],
    ['1', /must be "auto", "direct" or "pooled"/],
  ] as const)('SANDBOX_CONNECTION_MODE=%j gives %s', (value, expected) => {
    const read = () => connectionModeFromEnv({ SANDBOX_CONNECTION_MODE: value });
    if (typeof expected === 'string') expect(read()).toBe(expected);
    else expect(read).toThrow(expected);
  });
});

describe.skipIf(!installed).each(databaseServers())(`behind PgBouncer (transaction pooling, default settings)${skipped} on $name PostgreSQL`, (server) => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer(server.url);
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  describe('the sandbox', () => {
    let t: TestSandbox;
    let dir: string;
    beforeAll(async () => {
      dir = probeModule();
      try {
        t = await startTestSandbox({ moduleDirs: [dir], serverUrl: bouncer.url(server.url), statementTimeoutMs: 1_000, idleInTransactionTimeoutMs: 500 });
      } catch (error) {
        throw new Error(`${(error as Error).message}\nPgBouncer's log:\n${bouncer.log()}`, { cause: error });
      }
    });
    afterAll(async () => {
      await t?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('finds out that it talks through a pooler', () => {
      expect(t.sandbox.database.connectionMode).toBe('pooled');
    });

    it('leaves no advisory lock held once started, and starts again on the same database', async () => {
      expect(await advisoryLocksHeld(server.url, t.database.name)).toEqual([]);
      // A second start (a restart) would wait for ever on a bootstrap lock left on a pooled server connection.
      const again = await createSandbox({ moduleDirs: [dir], databaseUrl: t.database.url, logger: createLogger({ level: 'silent' }), maxConnections: 5, acquireTimeoutMs: 5_000 });
      try {
        await supertest(again.app).get(ITEMS).set({ 'X-User-Id': ADMIN, 'X-Tenant-Id': 'acme' }).expect(200);
      } finally {
        await again.close();
      }
      expect(await advisoryLocksHeld(server.url, t.database.name)).toEqual([]);
    }, 30_000);

    it('answers mixed requests of two tenants, each landing in its own tenant only', async () => {
      const tenants = ['dev', 'acme'] as const;
      const writes = Array.from({ length: 24 }, (_, i) => {
        const tenant = tenants[i % 2]!;
        return t.as(ADMIN, tenant).post(ITEMS).send({ name: `${tenant}-${i}` }).then((res) => ({ tenant, res }));
      });
      for (const { tenant, res } of await Promise.all(writes)) expect(res.status, `POST in ${tenant}: ${JSON.stringify(res.body)}`).toBe(201);

      const lists = await Promise.all(tenants.map((tenant) => t.as(ADMIN, tenant).get(ITEMS).then((res) => ({ tenant, res }))));
      for (const { tenant, res } of lists) {
        expect(res.status).toBe(200);
        const names = (res.body.data as { name: string }[]).map((row) => row.name);
        expect(names.filter((name) => name.startsWith(`${tenant}-`))).toHaveLength(12);
        expect(names.filter((name) => !name.startsWith(`${tenant}-`)), `rows of another tenant listed in ${tenant}`).toEqual([]);
      }
      const wrong = await t.sql<{ n: number }>(
        `SELECT ((SELECT count(*) FROM tenant_dev.items_items WHERE name NOT LIKE 'dev-%') + (SELECT count(*) FROM tenant_acme.items_items WHERE name NOT LIKE 'acme-%'))::int AS n`);
      expect(wrong).toEqual([{ n: 0 }]);
    });

    it("gives requests their statement timeout per transaction, leaving no setting on PgBouncer's server connections", async () => {
      const res = await t.as(ADMIN, 'dev').get('/api/plugins/items/probe/hold?seconds=5');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('DATABASE_TIMEOUT');
      const idle = await t.as(ADMIN, 'dev').get('/api/plugins/items/probe/idle?ms=1500');
      expect(idle.status).toBeGreaterThanOrEqual(500);
      await t.as(ADMIN, 'dev').get(ITEMS).expect(200);
      // Every server connection in PgBouncer's pool (3), asked by clients that set nothing.
      const url = bouncer.url(t.database.url);
      const seen = await Promise.all([1, 2, 3, 4].map(() => settingSeenByAnotherClient(url, 'statement_timeout')));
      expect(seen).toEqual(['0', '0', '0', '0']);
    });
  });

  it("sets the timeouts in each of the host's own transactions, and leaves the session as the server has it", async () => {
    const database = await createThrowawayDatabase(server.url);
    const opened = await openDatabase({ databaseUrl: bouncer.url(database.url), statementTimeoutMs: 1_234, idleInTransactionTimeoutMs: 567 });
    const client = await opened.pool.connect();
    try {
      expect(opened.connectionMode).toBe('pooled');
      const inside = await inTransaction(client, async () => (await client.query(SETTINGS)).rows[0]);
      expect(inside).toEqual({ statement: '1234ms', idle: '567ms' });
      expect((await client.query(SETTINGS)).rows[0]).toEqual({ statement: '0', idle: '0' });
    } finally {
      client.release();
      await opened.close();
      await database.drop();
    }
  });

  describe('changes made by other processes', () => {
    let database: ThrowawayDatabase;
    beforeAll(async () => {
      database = await createThrowawayDatabase(server.url);
    });
    afterAll(async () => {
      await database?.drop();
    });

    /** A sandbox through PgBouncer, its log lines, and the kill switch flipped by another process. */
    async function killSwitchSeen(sessionDatabaseUrl: string | undefined): Promise<{ refused: boolean; log: string }> {
      let log = '';
      const destination = { write: (line: string) => void (log += line) };
      const sandbox = await createSandbox({
        moduleDirs: [ITEMS_MODULE], databaseUrl: bouncer.url(database.url), sessionDatabaseUrl,
        logger: createLogger({ level: 'warn', destination }), maxConnections: 5,
      });
      const other = new pg.Client({ connectionString: database.url });
      await other.connect();
      try {
        const status = async () => (await supertest(sandbox.app).get(ITEMS).set({ 'X-User-Id': ADMIN, 'X-Tenant-Id': 'acme' })).status;
        expect(await status()).toBe(200);
        await other.query(`UPDATE sys_plugins SET enabled_global = false WHERE plugin_id = 'items'`);
        let refused = false;
        for (const deadline = Date.now() + 2_000; !refused && Date.now() < deadline;) {
          refused = (await status()) === 403;
          if (!refused) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return { refused, log };
      } finally {
        await other.query(`UPDATE sys_plugins SET enabled_global = true WHERE plugin_id = 'items'`);
        await other.end();
        await sandbox.close();
      }
    }

    it('reach the sandbox promptly when SANDBOX_SESSION_DATABASE_URL gives its listener a session', async () => {
      const { refused, log } = await killSwitchSeen(database.url);
      expect(refused).toBe(true);
      expect(log).not.toContain('transaction pooler');
    }, 30_000);

    it('without it, the sandbox says at start that they will not reach it, and how to fix that', async () => {
      const { log } = await killSwitchSeen(undefined);
      expect(log).toMatch(/reached through a transaction pooler.*Set SANDBOX_SESSION_DATABASE_URL/);
    }, 30_000);
  });

  describe('the operator commands with --database-url', () => {
    let database: ThrowawayDatabase;
    let url: string;
    beforeAll(async () => {
      database = await createThrowawayDatabase(server.url);
      url = bouncer.url(database.url);
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('tenants create, tenants list, migrate status and migrate up work', async () => {
      const created = await operator(['tenants', 'create', 'north', 'south', '--modules', ITEMS_MODULE, '--database-url', url]);
      expect(created.status, `${created.stderr}\nPgBouncer's log:\n${bouncer.log()}`).toBe(0);

      const listed = await operator(['tenants', 'list', '--json', '--database-url', url]);
      expect(listed.status, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { code: string }[]).map((tenant) => tenant.code)).toEqual(expect.arrayContaining(['north', 'south']));

      const status = await operator(['migrate', 'status', ITEMS_MODULE, '--database-url', url]);
      expect(status.status, status.stderr).toBe(0);

      const up = await operator(['migrate', 'up', ITEMS_MODULE, '--database-url', url]);
      expect(up.status, up.stderr).toBe(0);
      const again = await operator(['migrate', 'status', ITEMS_MODULE, '--json', '--database-url', url]);
      expect(again.status, again.stderr).toBe(0);
      expect(await advisoryLocksHeld(server.url, database.name)).toEqual([]);
    });

    it('refuses a -- migrate:no-transaction file (its session settings and locks would reach other clients), running nothing of it', async () => {
      const dir = fixtureModule('pooled', { 'tenant/001_init.sql': 'CREATE TABLE pooled_t (n int);\n', 'tenant/002_index.sql': '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS pooled_n_idx ON pooled_t (n);\n' });
      try {
        const up = await operator(['migrate', 'up', dir, '--database-url', url]);
        expect(up.status).toBe(1);
        expect(up.stdout).toMatch(/002_index\.sql of plugin "pooled" runs outside a transaction.*transaction pooler.*nothing of it ran/);
        const direct = new pg.Client({ connectionString: database.url });
        await direct.connect();
        try {
          expect((await direct.query(`SELECT name, count(*)::int AS n FROM sys_plugin_migrations WHERE plugin_id = 'pooled' GROUP BY 1 ORDER BY 1`)).rows).toEqual([{ name: '001_init.sql', n: 2 }]);
          expect((await direct.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'pooled_n_idx'`)).rows).toEqual([{ n: 0 }]);
        } finally {
          await direct.end();
        }
        // Straight to PostgreSQL, it runs.
        expect((await operator(['migrate', 'up', dir, '--database-url', database.url])).status).toBe(0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
