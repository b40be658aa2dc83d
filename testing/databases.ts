/**
 * The PostgreSQL servers tests run on: the embedded one always (started once per test run by
 * global-setup.ts), and the one at TEST_DATABASE_URL as well when that is set. Each test makes
 * its own throw-away database on a server and drops it afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin connection string of the embedded test cluster. */
    embeddedPostgresUrl: string;
  }
}

export interface DatabaseServer {
  /** `embedded` or `real`: printed in test names so a run shows which server each test used. */
  name: 'embedded' | 'real';
  /** Connection string to an existing database with the right to CREATE DATABASE. */
  url: string;
}

export function databaseServers(): DatabaseServer[] {
  const servers: DatabaseServer[] = [{ name: 'embedded', url: inject('embeddedPostgresUrl') }];
  if (process.env.TEST_DATABASE_URL) servers.push({ name: 'real', url: process.env.TEST_DATABASE_URL });
  return servers;
}

export interface ThrowawayDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new, randomly named database on `serverUrl`; `drop()` removes it even with sessions open. */
export async function createThrowawayDatabase(serverUrl: string): Promise<ThrowawayDatabase> {
  const name = `fm_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withAdmin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

async function withAdmin<T>(serverUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
