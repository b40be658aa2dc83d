/**
 * After `migrate down`: a tenant where every file of a plugin is undone has none of its tables, so
 * the plugin is switched off there (its routes answer 403 PLUGIN_DISABLED, not 500) and marked not
 * installed (`0.0.0`); a plugin undone everywhere is marked not installed. `plugins enable`
 * migrates and switches it on again; the sandbox's start does the same for its dev setup.
 */
import type pg from 'pg';
import type { TargetResult } from './runner.ts';
import { registryWrite } from '../../sandbox/data/database.ts';

export interface UndonePlugin {
  pluginId: string;
  /** Codes of the tenants where it was switched off. */
  tenants: string[];
  /** No file of it is applied anywhere any more. */
  everywhere: boolean;
}

export const NOT_INSTALLED = '0.0.0';

export async function retireUndonePlugins(pool: pg.Pool, results: TargetResult[]): Promise<UndonePlugin[]> {
  const undone = results.filter((r) => r.outcome.state === 'done' && r.outcome.applied.length > 0);
  const retired: UndonePlugin[] = [];
  for (const pluginId of [...new Set(undone.map((r) => r.work.module.id))]) {
    const tenants = undone.filter((r) => r.work.module.id === pluginId && r.work.target.tenantId !== null).map((r) => r.work.target);
    const { rows } = await registryWrite<{ tenant_id: string }>(pool,
      `UPDATE public.sys_tenant_plugins tp SET enabled = false, version_installed = $3, updated_at = now()
        WHERE tp.plugin_id = $1 AND tp.tenant_id = ANY($2::uuid[])
          AND NOT EXISTS (SELECT 1 FROM public.sys_plugin_migrations m WHERE m.plugin_id = $1 AND m.tenant_id = tp.tenant_id)
        RETURNING tp.tenant_id::text`, [pluginId, tenants.map((t) => t.tenantId), NOT_INSTALLED]);
    const { rowCount } = await registryWrite(pool,
      `UPDATE public.sys_plugins SET version_installed = $2, updated_at = now()
        WHERE plugin_id = $1 AND version_installed <> $2 AND NOT EXISTS (SELECT 1 FROM public.sys_plugin_migrations WHERE plugin_id = $1)`, [pluginId, NOT_INSTALLED]);
    const off = new Set(rows.map((row) => row.tenant_id));
    const codes = tenants.filter((t) => off.has(t.tenantId!)).map((t) => t.tenantCode ?? t.schema).sort();
    if (codes.length > 0 || (rowCount ?? 0) > 0) retired.push({ pluginId, tenants: codes, everywhere: (rowCount ?? 0) > 0 });
  }
  return retired;
}
