/**
 * Vitest global setup: one embedded PostgreSQL for the whole test run, in a temporary folder
 * removed afterwards; its URL reaches tests through `inject('embeddedPostgresUrl')`. Also checks
 * TEST_DATABASE_URL up front, so a wrong URL fails the run at once instead of in every suite.
 * (The kit's own CI proves the real-server tests ran from the report: .ci/check-real-postgres.mjs.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../sandbox/embedded-postgres/cluster.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const realUrl = process.env.TEST_DATABASE_URL;
  if (realUrl) {
    const client = new pg.Client({ connectionString: realUrl });
    try {
      await client.connect();
      await client.end();
    } catch (error) {
      throw new Error(`TEST_DATABASE_URL is set but PostgreSQL there refused the connection: ${(error as Error).message}`);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-test-pg-'));
  fs.chmodSync(dir, 0o755);
  const cluster = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), database: 'postgres', fast: true });
  project.provide('embeddedPostgresUrl', cluster.url);
  return async () => {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
