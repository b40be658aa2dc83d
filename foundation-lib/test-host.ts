/**
 * What a foundation gives the kit's test host so that a module's own API tests run against it
 * unchanged (`FOUNDATION_ROOT=<foundation> npm test` in the module): the maintainer fills these in
 * once, in test-bindings.ts beside the bindings. The kit does the rest with them: a throw-away
 * database, the tenants `dev` and `acme`, the module's migrations through the kit's runner, the
 * module enabled, the dev users and the dev admin's grants.
 *
 * Types only: vendored as it is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A user in a tenant, by the foundation's own ids. */
export interface TestCaller {
  userId: string;
  tenantId: string;
}

export interface StartedFoundation {
  /** The foundation's HTTP handler (an Express app), not listening: requests are made in-process. */
  app: (req: IncomingMessage, res: ServerResponse) => void;
  /** Releases what `start` opened (its pool, timers). */
  close(): Promise<void>;
}

export interface FoundationTestBindings {
  /** Starts the foundation on an empty database at `databaseUrl`: its own bootstrap (system tables), then its app. */
  start(databaseUrl: string): Promise<StartedFoundation>;
  /** Makes a tenant as the foundation does (its row and its schema). `code` is a short lowercase code such as `dev`. */
  createTenant(code: string): Promise<{ id: string }>;
  /** Makes a user (or finds the one with this email). */
  createUser(email: string): Promise<{ id: string }>;
  /** Gives the user, in that tenant, a role granting these permissions: what a tenant admin would do. */
  grant(caller: TestCaller, permissions: string[]): Promise<void>;
  /** The headers that make a request come from the caller, e.g. `{ authorization: 'Bearer …' }` with a signed token. */
  headers(caller: TestCaller): Promise<Record<string, string>>;
}
