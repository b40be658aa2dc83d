/**
 * `ctx.config`: plugin configuration stored as JSON in the registries, `sys_plugins.config`
 * (global) and `sys_tenant_plugins.config` (per tenant). A key not set reads as the default its
 * schema gives (module.config.ts `globalConfigSchema`, `configSchema`). Called inside a tenant
 * transaction, it reads on that transaction's connection (never a second one from the pool: see
 * `currentConnection`). Nothing is cached: one indexed read per call, and a change made by the CLI
 * is seen by the next read, with no notice to wait for.
 */
import type pg from 'pg';
import type { ConfigCapability } from '../../sandbox/contract.ts';
import { currentConnection, type Tenancy } from '../../sandbox/data/tenancy.ts';
import type { Logger } from '../../sandbox/logger.ts';
import { isPlainObject, jsonPath, type ConfigLevel, type ConfigSchema } from '../../sandbox/plugins/config-schema.ts';
import { describeTarget } from './config-admin.ts';
import { MAX_CONFIG_DEPTH, readableConfig, unsetCommand } from './config-depth.ts';
import { configKeyProblem } from '../../rules/index.ts';

export interface PluginConfigOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  pluginId: string;
  schemas?: Partial<Record<ConfigLevel, ConfigSchema>>;
  /** Told once per level and process when the stored configuration breaks its schema (written with SQL). */
  logger?: Logger;
}

/** A key is a schema property name (rules/config-key.ts): anything else is a plugin's mistake, told at the call. */
function checkKey(key: unknown): string {
  const problem = configKeyProblem(key);
  if (problem) throw new TypeError(`A config key ${problem} (got ${JSON.stringify(key)?.slice(0, 80)}).`);
  return key as string;
}

export function pluginConfig({ pool, tenancy, pluginId, schemas = {}, logger }: PluginConfigOptions): ConfigCapability {
  const warned = new Set<string>();

  /** Once per process, configuration and keys: a plugin reads its configuration on every request. */
  function warnTooDeep(tenantCode: string | undefined, tooDeep: string[]): void {
    const once = `${tenantCode ?? '(global)'} too deep: ${tooDeep.join(',')}`;
    if (warned.has(once)) return;
    warned.add(once);
    const paths = tooDeep.map((key) => jsonPath([key])).join(', ');
    const fixes = tooDeep.map((key) => unsetCommand(pluginId, tenantCode, key)).join('; ');
    logger?.warn({ pluginId, tenant: tenantCode ?? null, keys: tooDeep },
      `the stored configuration of ${describeTarget({ pluginId, tenant: tenantCode === undefined ? undefined : { code: tenantCode } })} has ${paths} nesting deeper than ${MAX_CONFIG_DEPTH} levels (written around the CLI?): `
      + `${tooDeep.length === 1 ? 'it reads' : 'they read'} as not set. ${fixes} ${tooDeep.length === 1 ? 'removes it' : 'remove them'}.`);
  }

  function answer<T>(level: ConfigLevel, stored: unknown, key: string, where: string, tenantCode?: string): T | undefined {
    const schema = schemas[level];
    // `'5'::jsonb` written with SQL is no configuration: read as none (the schema check says so).
    // A key nested too deep to check or copy (SQL again) reads as not set, rather than failing every read.
    const { config, tooDeep } = readableConfig(stored);
    if (tooDeep.length > 0) warnTooDeep(tenantCode, tooDeep);
    if (schema && !warned.has(where)) {
      const problems = schema.problems(isPlainObject(stored) ? config : stored ?? {});
      if (problems.length > 0) {
        warned.add(where);
        logger?.warn({ pluginId, config: where, problems }, `the stored ${where} configuration of plugin ${pluginId} breaks its schema (written around the CLI?): ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
      }
    }
    const full = schema ? schema.withDefaults(config) : config;
    // Own keys only: `constructor` of a plain object is no setting.
    const value = Object.hasOwn(full, key) ? full[key] : undefined;
    return (value ?? undefined) as T | undefined;
  }

  return {
    async getGlobal<T>(key: string): Promise<T | undefined> {
      checkKey(key);
      const { rows } = await currentConnection(pool).query<{ config: unknown }>(
        'SELECT config FROM public.sys_plugins WHERE plugin_id = $1', [pluginId]);
      return answer<T>('global', rows[0]?.config, key, 'global');
    },
    async getTenant<T>(tenantReference: string, key: string): Promise<T | undefined> {
      checkKey(key);
      const { id, code } = await tenancy.get(tenantReference);
      const { rows } = await currentConnection(pool).query<{ config: unknown }>(
        'SELECT config FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2', [pluginId, id]);
      return answer<T>('tenant', rows[0]?.config, key, `tenant ${id}`, code);
    },
  };
}
