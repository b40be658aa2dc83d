/**
 * Yours: `foundation-module vendor` writes this file once and never rewrites it. It tells the
 * kit's test host how to start this foundation, make tenants and users, grant permissions and
 * sign requests, so that each vendored module's own API tests run against this foundation:
 *
 *   FOUNDATION_ROOT=/path/to/this/foundation npm test      (in the module's folder)
 *
 * Fill in each function with this foundation's own code; docs/vendoring.md shows an example. Until
 * then the module's tests run on the kit's sandbox only, and FOUNDATION_ROOT stops with this message.
 */
import type { FoundationTestBindings } from './test-host.ts';

const notYet = (what: string) => async (): Promise<never> => {
  throw new Error(`src/lib/foundation-module/test-bindings.ts: fill in ${what} for this foundation (docs/vendoring.md, "One suite, two runtimes").`);
};

const testBindings: FoundationTestBindings = {
  start: notYet('start(databaseUrl)'),
  createTenant: notYet('createTenant(code)'),
  createUser: notYet('createUser(email)'),
  grant: notYet('grant(caller, permissions)'),
  headers: notYet('headers(caller)'),
};

export default testBindings;
