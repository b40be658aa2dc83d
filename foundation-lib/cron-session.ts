/**
 * The connection cron keeps for itself, outside the pool: its advisory locks (run-locks.ts) live
 * as long as this session, and its leases (run-leases.ts) are written through it. A broken
 * session is dropped and the next query connects again.
 *
 * Shared by the sandbox and, vendored, by a foundation's adapter: imports only pg.
 */
import pg from 'pg';

export interface CronSessionOptions {
  /** Where to connect (the pool's own settings: the same database, user and timeouts). */
  connection: pg.ClientConfig;
  /** How the session shows in pg_stat_activity. @default 'foundation-sandbox-cron' */
  applicationName?: string;
  /** The session does not keep the process alive (a foundation that never stops its jobs still exits). @default false */
  unref?: boolean;
}

export interface CronSession {
  query<Row extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
  /** Ends the session (and with it every advisory lock it holds); a later query connects again. */
  end(): Promise<void>;
}

export function createCronSession({ connection, applicationName = 'foundation-sandbox-cron', unref = false }: CronSessionOptions): CronSession {
  let session: Promise<pg.Client> | undefined;

  function connect(): Promise<pg.Client> {
    if (session) return session;
    const client = new pg.Client({ ...connection, application_name: applicationName });
    const drop = () => {
      if (session === attempt) session = undefined;
      client.end().catch(() => {});
    };
    client.on('error', drop);
    client.on('end', drop);
    const attempt = client.connect().then(() => {
      // pg has no option for it: its socket, unref'd, leaves the process free to exit when nothing else runs.
      if (unref) (client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
      return client;
    }, (error: unknown) => {
      drop();
      throw error;
    });
    session = attempt;
    return attempt;
  }

  return {
    async query(text, params) {
      const client = await connect();
      return client.query(text, params);
    },
    async end() {
      const current = session;
      session = undefined;
      const client = await current?.catch(() => undefined);
      await client?.end().catch(() => {});
    },
  };
}
