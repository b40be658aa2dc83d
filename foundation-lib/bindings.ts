/**
 * Yours: `foundation-module vendor` writes this file once, when it vendors the first module into
 * this foundation, and never rewrites it. It says where the contract's pieces come from in this
 * foundation; every vendored module's adapter (src/modules/<id>/server/routes/index.ts) uses it.
 * The imports below are the seeds' paths: change them, and the functions under them, to match
 * this foundation (its auth's claim names, its tenant table). Nothing else needs an edit.
 * docs/vendoring.md explains each entry.
 */
import type { Request } from 'express';
import type { RequestIdentity } from './contract.ts';
import { jsonLineLogger, type FoundationBindings } from './plugin-router.ts';
import { kitRegistries } from './registries.ts';
import type { TenantDirectory } from './tenant-directory.ts';
import { pool } from '../db/client.ts';
import { withTenantTx } from '../db/tenant-db.ts';
import { requirePermission } from '../security/rbac.ts';

/**
 * This foundation's tenant table and its columns (`code` and `domain` may be left out). The
 * operator commands (`foundation-module migrate`, `plugins`) read this literal from the file's
 * text: keep it plain strings.
 */
export const tenantTable = { table: 'public.sys_tenant', id: 'id', code: 'code', schema: 'schema_name', domain: 'domain' } satisfies TenantDirectory;

const bindings: FoundationBindings = {
  withTenantTx,
  requirePermission,

  /** The caller as this foundation's auth middleware left it on the request. */
  identity(req: Request): RequestIdentity | undefined {
    const user = (req as Request & { user?: { id?: string; tenantId?: string } }).user;
    return user?.id && user.tenantId ? { userId: user.id, tenantId: user.tenantId } : undefined;
  },

  /**
   * Enablement (`foundation-module plugins enable|disable`), configuration (`plugins config`) and
   * `resolveTenant`, from the kit's registries and the tenant table above.
   */
  ...kitRegistries(() => pool, tenantTable),

  /** Your logger (pino fits as it is); the default writes one JSON line per entry. */
  logger: jsonLineLogger,
};

export default bindings;
