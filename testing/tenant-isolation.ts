/**
 * The tenant leak check every generated entity test runs: a row written in one tenant must be
 * invisible from another, through the API and in the database itself.
 */
import { expect } from 'vitest';
import { assertSchemaName, quoteIdent } from '../sandbox/data/sql-identifiers.ts';
import { DEV_USERS } from '../sandbox/data/dev-seed.ts';
import type { TestHost } from './test-host.ts';

export interface TenantIsolationOptions {
  /** Collection route, e.g. `/api/plugins/inventory/items`; rows are read at `<path>/<id>`. */
  path: string;
  /** The table rows land in, inside each tenant schema (no schema name), e.g. `inventory_items`. */
  table: string;
  /** Body of a valid POST to `path`; the answer's `data.id` is the row followed. */
  create: Record<string, unknown>;
  /** Tenant codes: the row is written in the first and looked for in the second. @default ['dev', 'acme'] */
  tenants?: [string, string];
  /** Who makes the requests; needs the read and create permissions in both tenants. @default the dev admin */
  user?: string;
}

/** Creates a row in `tenants[0]`, then checks that `tenants[1]` sees nothing of it. Returns the row id. */
export async function expectTenantIsolation(t: TestHost, {
  path,
  table,
  create,
  tenants = ['dev', 'acme'],
  user = DEV_USERS.admin.email,
}: TenantIsolationOptions): Promise<string> {
  const [home, other] = tenants;
  const created = await t.as(user, home).post(path).send(create);
  expect(created.status, `POST ${path} in tenant ${home}: ${JSON.stringify(created.body)}`).toBe(201);
  const id: string = created.body.data.id;

  // Through the API: the home tenant reads it, the other tenant neither lists nor reads it.
  await t.as(user, home).get(`${path}/${id}`).expect(200);
  const otherList = await t.as(user, other).get(path).expect(200);
  expect(otherList.body.data.map((row: { id: string }) => row.id), `tenant ${other} lists a row of tenant ${home}`).not.toContain(id);
  await t.as(user, other).get(`${path}/${id}`).expect(404);

  // In the database: the row is in the home schema only.
  const counts: Record<string, number> = {};
  for (const code of tenants) {
    const schema = await t.tenantSchema(code);
    const relation = `${quoteIdent(schema)}.${quoteIdent(assertSchemaName(table))}`;
    const [row] = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${relation} WHERE id = $1`, [id]);
    counts[code] = row!.n;
  }
  expect(counts, `rows with id ${id} per tenant schema`).toEqual({ [home]: 1, [other]: 0 });
  return id;
}
