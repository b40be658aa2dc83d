/**
 * Creating tenants: the `sys_tenant` row and the tenant's own schema. Codes and schema names go
 * through the shared rules (rules/tenant.ts) before any SQL; a code can never look like an id.
 */
import type pg from 'pg';
import { defaultSchemaName, tenantCodeProblem } from '../../rules/index.ts';
import { assertSchemaName, quoteIdent } from './tenancy.ts';

export interface NewTenant {
  code: string;
  name: string;
  domain?: string | null;
  /** @default `tenant_<code>` with `-` as `_` */
  schema?: string;
}

/** Creates the tenant row and its schema if missing; returns the tenant id. */
export async function ensureTenant(client: pg.ClientBase, tenant: NewTenant): Promise<string> {
  const codeProblem = tenantCodeProblem(tenant.code);
  if (codeProblem) throw new Error(`Tenant code ${JSON.stringify(tenant.code)} ${codeProblem}.`);
  const schema = assertSchemaName(tenant.schema ?? defaultSchemaName(tenant.code));
  await client.query(
    `INSERT INTO public.sys_tenant (code, name, domain, schema_name) VALUES ($1, $2, $3, $4)
     ON CONFLICT (code) DO NOTHING`,
    [tenant.code, tenant.name, tenant.domain ?? null, schema]);
  const { rows } = await client.query<{ id: string; schema_name: string }>(
    'SELECT id::text AS id, schema_name FROM public.sys_tenant WHERE code = $1', [tenant.code]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(assertSchemaName(rows[0]!.schema_name))}`);
  return rows[0]!.id;
}
