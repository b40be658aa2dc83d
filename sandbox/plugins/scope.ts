/**
 * What plugin code is doing right now, as the host's capabilities need to know it without the
 * plugin passing it along: the request (its id), the tenant it acts in, and the tenant transaction
 * it is inside. Logs are tagged from it, events carry its tenant and wait for its commit, cron
 * runs set it per tenant. One AsyncLocalStorage, set only by the host.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { TenantDb } from '../contract.ts';
import type { Tenancy } from '../data/tenancy.ts';

/** Work held back until the tenant transaction it was done in commits (events emitted inside it). */
export interface TransactionScope {
  /** False once the transaction (or savepoint) has ended: later work no longer waits for it. */
  open: boolean;
  afterCommit: (() => Promise<void>)[];
}

export interface PluginScope {
  requestId?: string;
  /** `sys_tenant.id`: the tenant transaction's, else the request's, else the cron run's. */
  tenantId?: string;
  transaction?: TransactionScope;
}

const scope = new AsyncLocalStorage<PluginScope>();

export function currentScope(): PluginScope {
  return scope.getStore() ?? {};
}

/** Runs `run` with `patch` over the current scope. */
export function inScope<T>(patch: PluginScope, run: () => T): T {
  return scope.run({ ...currentScope(), ...patch }, run);
}

/**
 * The first handler of each plugin router: the rest of the request runs in a scope holding its
 * id and the tenant its identity names (identity runs before the router).
 */
export function requestScope(req: Request, _res: Response, next: NextFunction): void {
  inScope({ requestId: req.requestId, tenantId: req.identity?.tenantId }, next);
}

/**
 * `tenancy.withTenantTx`, run in a scope naming the tenant and the transaction. Work queued with
 * `afterCommit` inside runs once the outermost transaction has committed, and is dropped when
 * it, or the savepoint it was queued in, rolls back.
 */
export async function withTenantScope<T>(tenancy: Tenancy, tenantReference: string, run: (db: TenantDb) => Promise<T>): Promise<T> {
  const outer = currentScope();
  const transaction: TransactionScope = { open: true, afterCommit: [] };
  let result: T;
  try {
    result = await tenancy.withTenantTx(tenantReference, async (db) => {
      // withTenantTx has just looked the tenant up: this answer comes from its cache.
      const tenant = await tenancy.get(tenantReference);
      return inScope({ tenantId: tenant.id, transaction }, () => run(db));
    });
  } catch (error) {
    transaction.afterCommit = [];
    throw error;
  } finally {
    transaction.open = false;
  }
  if (outer.transaction?.open) {
    // A savepoint: whether its work happens is the enclosing transaction's commit to decide.
    outer.transaction.afterCommit.push(...transaction.afterCommit);
  } else {
    for (const work of transaction.afterCommit) await work();
  }
  return result;
}

/** Queues `work` after the commit of the current tenant transaction; false (nothing queued) outside one. */
export function afterCommit(work: () => Promise<void>): boolean {
  const transaction = currentScope().transaction;
  if (!transaction?.open) return false;
  transaction.afterCommit.push(work);
  return true;
}
