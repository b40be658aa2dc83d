/**
 * What the contract's error answers (foundation-lib/http-error.ts, shared by the sandbox and a
 * foundation's adapter) make of a database that can't be reached: 503 DATABASE_UNAVAILABLE with
 * Retry-After, never a 500 that reads as a bug. The failures are real ones, from pg against each
 * test server (a refused connection, a session the server terminates); the errors that must stay
 * 500 or 4xx are listed beside them.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { answerFor, HttpError } from '../foundation-lib/http-error.ts';
import { databaseServers } from '../testing/index.ts';

const UNAVAILABLE = { status: 503, code: 'DATABASE_UNAVAILABLE', retryAfter: 5 };

/** What pg rejects with when nothing listens where it connects. */
async function refusedConnection(): Promise<unknown> {
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/nothing', connectionTimeoutMillis: 2_000 });
  return client.connect().then(() => new Error('connected to port 1?'), (error: unknown) => error);
}

describe.each(databaseServers())('a database that cannot be reached, on $name PostgreSQL', (server) => {
  /** What a query on a session the server then terminates rejects with (pg_terminate_backend, as at a failover or restart). */
  async function terminatedSession(): Promise<unknown> {
    const client = new pg.Client({ connectionString: server.url });
    client.on('error', () => {});
    await client.connect();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // With a timeout, it returns once the backend is gone: the query below can't slip in before.
      await admin.query('SELECT pg_terminate_backend($1, 5000)', [rows[0]!.pid]);
      return await client.query('SELECT 1').then(() => new Error('the session survived'), (error: unknown) => error);
    } finally {
      await admin.end();
      await client.end().catch(() => {});
    }
  }

  const cases: { name: string; error: () => Promise<unknown>; answer: Record<string, unknown> }[] = [
    { name: 'a refused connection (ECONNREFUSED)', error: refusedConnection, answer: UNAVAILABLE },
    { name: 'a refused connection, wrapped as Drizzle wraps a query\'s error (cause)', error: async () => new Error('Failed query: select 1', { cause: await refusedConnection() }), answer: UNAVAILABLE },
    { name: 'a session the server terminated', error: terminatedSession, answer: UNAVAILABLE },
    { name: 'a value the database refuses (23505) stays 409', error: () => uniqueViolation(server.url), answer: { status: 409, code: 'ALREADY_EXISTS' } },
    { name: 'a plain error stays 500', error: async () => new Error('something else broke'), answer: { status: 500, code: 'INTERNAL' } },
    // A reset of the client's own socket while its body is read is no database failure.
    { name: 'a client socket reset while reading stays 500', error: async () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }), answer: { status: 500, code: 'INTERNAL' } },
    { name: 'a 503 a plugin throws stays its own', error: async () => new HttpError(503, 'UPSTREAM_DOWN', 'The payment service is down.'), answer: { status: 503, code: 'UPSTREAM_DOWN' } },
  ];

  it.each(cases)('$name', async ({ error, answer }) => {
    const thrown = await error();
    expect(answerFor(thrown)).toMatchObject(answer);
    expect(JSON.stringify(answerFor(thrown))).not.toMatch(/127\.0\.0\.1|ECONN|terminat/i);
  });
});

/** A real 23505: the same key twice, in a temporary table of a session of its own. */
async function uniqueViolation(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TEMP TABLE t (k int PRIMARY KEY)');
    return await client.query('INSERT INTO t VALUES (1), (1)').then(() => new Error('inserted twice?'), (error: unknown) => error);
  } finally {
    await client.end();
  }
}
