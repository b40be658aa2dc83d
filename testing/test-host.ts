/**
 * The test host a module's API tests talk to: requests as a user in a tenant, a grant, SQL, the
 * schema of a tenant. The kit implements it on the sandbox (`startTestSandbox`) and, with a
 * foundation's test bindings, on the foundation a module is vendored into
 * (`startFoundationTestHost`). `startTestHost` picks: `FOUNDATION_ROOT` set, the foundation.
 *
 *   const t = await startTestHost({ moduleDirs: [moduleDir], serverUrl });
 *   await t.as('user@sandbox.dev', 'dev').get('/api/plugins/items/items').expect(403);
 */
import type supertest from 'supertest';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type AsUser = { [M in Method]: (path: string) => supertest.Test };

export interface TestHost {
  /** Which host answers: the kit's sandbox, or a foundation (FOUNDATION_ROOT). */
  runtime: 'sandbox' | 'foundation';
  /** Requests made as `user` (a dev user's email, or an id) in `tenant` (a dev tenant's code, or an id). */
  as(user: string, tenant: string): AsUser;
  /** Gives `user` in `tenant` a role granting `permissions` (what a tenant admin would do). */
  grant(user: string, tenant: string, permissions: string[]): Promise<void>;
  /** Runs SQL on the throw-away database (outside any tenant), for checks the API can't make. */
  sql<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** The PostgreSQL schema of `tenant` (code or id). */
  tenantSchema(tenant: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Requests whose identity headers are worked out when the request is sent (a foundation signs a
 * token, which takes a promise): `as()` stays synchronous, so tests chain `.send().expect()` as usual.
 */
export function asCaller(request: ReturnType<typeof supertest>, headers: () => Promise<Record<string, string>> | Record<string, string>): AsUser {
  const withIdentity = (test: supertest.Test): supertest.Test => {
    const end = test.end.bind(test);
    test.end = ((callback: Parameters<supertest.Test['end']>[0]) => {
      Promise.resolve(headers()).then((values) => {
        test.set(values);
        end(callback);
      }, (error: Error) => callback?.(error, undefined as never));
      return test;
    }) as supertest.Test['end'];
    return test;
  };
  return {
    get: (path) => withIdentity(request.get(path)),
    post: (path) => withIdentity(request.post(path)),
    put: (path) => withIdentity(request.put(path)),
    patch: (path) => withIdentity(request.patch(path)),
    delete: (path) => withIdentity(request.delete(path)),
  };
}
