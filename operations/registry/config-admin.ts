/**
 * Writing plugin configuration, as an operator does (`foundation-module plugins config … set`):
 * one key of `sys_plugins.config` (global) or of a tenant's `sys_tenant_plugins.config`, in one
 * transaction that locks the row, so two writers never lose each other's keys. The whole resulting
 * object is checked against the module's schema before it is written: an invalid value is refused
 * with the path of the field at fault and what the schema wants, and nothing changes.
 *
 * The row's statement trigger notifies running sandboxes (data/changes.ts); they cache no
 * configuration, so their next read sees the change.
 */
import type pg from 'pg';
import { configKeyProblem } from '../../rules/index.ts';
import { beginStatement } from '../../sandbox/data/connection-mode.ts';
import { isPlainObject, jsonPath, SCHEMA_FIELD, type ConfigLevel, type ConfigProblem, type ConfigSchema } from '../../sandbox/plugins/config-schema.ts';
import { MAX_CONFIG_DEPTH, readableConfig, unsetCommand } from './config-depth.ts';
import { expectRevision } from './revisions.ts';

/** Larger configuration belongs in the module's own tables: every read of a key reads the whole object. */
export const MAX_CONFIG_BYTES = 64 * 1024;
export { MAX_CONFIG_DEPTH } from './config-depth.ts';

export interface ConfigTarget {
  pluginId: string;
  /** The tenant whose configuration it is; none: the plugin's global configuration. */
  tenant?: { id: string; code: string };
}

export type ConfigWriteRefusal = 'not-installed' | 'no-schema' | 'invalid';

export class ConfigWriteError extends Error {
  override name = 'ConfigWriteError';

  constructor(message: string, readonly reason: ConfigWriteRefusal, readonly problems: ConfigProblem[] = []) {
    super(message);
  }
}

export const levelOf = (target: ConfigTarget): ConfigLevel => (target.tenant ? 'tenant' : 'global');

/** `plugin items` or `plugin items in tenant acme`, for messages. */
export const describeTarget = ({ pluginId, tenant }: { pluginId: string; tenant?: { code: string } }) => `plugin ${pluginId}${tenant ? ` in tenant ${tenant.code}` : ' (global)'}`;

/**
 * What makes `value` unstorable as configuration whatever the schema says: not JSON, a NUL or
 * an unpaired surrogate in a string or key (jsonb refuses both), a `__proto__` key, nesting
 * deeper than MAX_CONFIG_DEPTH. Walks at most that deep, so a hostile value can't exhaust the
 * stack; reports at most five problems.
 */
export function configValueProblems(value: unknown, at: readonly string[] = []): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const walk = (node: unknown, segments: string[], depth: number): void => {
    if (problems.length >= 5) return;
    const problem = (message: string) => problems.push({ path: jsonPath(segments), message });
    if (depth > MAX_CONFIG_DEPTH) return void problem(`nests deeper than ${MAX_CONFIG_DEPTH} levels`);
    if (node === null || typeof node === 'boolean') return;
    if (typeof node === 'number') return void (Number.isFinite(node) || problem('must be a finite number'));
    if (typeof node === 'string') {
      const unstorable = unstorableText(node);
      return void (unstorable && problem(`holds ${unstorable}`));
    }
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, [...segments, String(i)], depth + 1));
    if (!isPlainObject(node)) return void problem(`is not JSON (${typeof node})`);
    for (const [key, item] of Object.entries(node)) {
      const unstorable = unstorableText(key);
      if (key === '__proto__') problem(`has the key "__proto__", which a plain object reads as its prototype`);
      else if (unstorable) problem(`has a key holding ${unstorable}`);
      else walk(item, [...segments, key], depth + 1);
    }
  };
  walk(value, [...at], at.length);
  return problems;
}

/** Half a UTF-16 pair with no other half: JSON can escape it (`"\\ud800"`), but it is no Unicode character. */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What in `text` PostgreSQL's jsonb refuses to store (a NUL, an unpaired surrogate), described; undefined when nothing. */
function unstorableText(text: string): string | undefined {
  if (text.includes('\0')) return 'a NUL character, which PostgreSQL jsonb can\'t store';
  const surrogate = UNPAIRED_SURROGATE.exec(text);
  if (!surrogate) return undefined;
  const escaped = `\\u${surrogate[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
  return `an unpaired UTF-16 surrogate (${escaped} at character ${surrogate.index + 1}), which is no Unicode character: PostgreSQL jsonb can't store it`;
}

/** The stored configuration of `target`; undefined when the plugin is not installed there (no row). */
export async function readPluginConfig(pool: pg.Pool, target: ConfigTarget): Promise<Record<string, unknown> | undefined> {
  const { rows } = target.tenant
    ? await pool.query<{ config: unknown }>('SELECT config FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2', [target.pluginId, target.tenant.id])
    : await pool.query<{ config: unknown }>('SELECT config FROM public.sys_plugins WHERE plugin_id = $1', [target.pluginId]);
  if (rows.length === 0) return undefined;
  return isPlainObject(rows[0]!.config) ? rows[0]!.config : {};
}

export interface ConfigWrite extends ConfigTarget {
  pool: pg.Pool;
  key: string;
  /** The new value; undefined removes the key (it then reads as its schema default). */
  value: unknown;
  /** The module's schema for this level; without one the level takes no configuration. */
  schema: ConfigSchema | undefined;
  /** The revision the writer read of the row (revisions.ts): refused with StaleWriteError when it moved since. */
  expectedRevision?: number;
}

export interface ConfigWriteResult {
  /** The key's stored value before (undefined: not set, or too deep to read: see previousTooDeep). */
  previous: unknown;
  /** The value replaced nested deeper than MAX_CONFIG_DEPTH (written with SQL): readers had ignored it. */
  previousTooDeep?: boolean;
  /** The whole stored configuration after. */
  config: Record<string, unknown>;
}

/** Sets (or removes) one key, checking the whole result against the schema; throws ConfigWriteError when refused. */
export async function setPluginConfig({ pool, key, value, schema, expectedRevision, ...target }: ConfigWrite): Promise<ConfigWriteResult> {
  const keyProblem = configKeyProblem(key);
  if (keyProblem) throw new TypeError(`Config key ${JSON.stringify(key)} ${keyProblem}.`);
  if (!schema) {
    throw new ConfigWriteError(`${describeTarget(target)} takes no ${levelOf(target)} configuration: its module.config.ts declares no ${SCHEMA_FIELD[levelOf(target)]}.`, 'no-schema');
  }
  const valueProblems = value === undefined ? [] : configValueProblems(value, [key]);
  if (valueProblems.length > 0) throw invalid(target, valueProblems);

  const client = await pool.connect();
  try {
    await client.query(beginStatement(client));
    if (expectedRevision !== undefined) await expectRevision(client, target.pluginId, target.tenant ?? null, expectedRevision);
    const { rows } = target.tenant
      ? await client.query<{ config: unknown }>('SELECT config FROM public.sys_tenant_plugins WHERE plugin_id = $1 AND tenant_id = $2 FOR UPDATE', [target.pluginId, target.tenant.id])
      : await client.query<{ config: unknown }>('SELECT config FROM public.sys_plugins WHERE plugin_id = $1 FOR UPDATE', [target.pluginId]);
    if (rows.length === 0) {
      throw new ConfigWriteError(target.tenant
        ? `Plugin ${target.pluginId} is not installed in tenant ${target.tenant.code}: foundation-module plugins enable ${target.pluginId} --tenant ${target.tenant.code} installs it.`
        : `Plugin ${target.pluginId} is not installed (no row in sys_plugins): foundation-module plugins enable ${target.pluginId} installs it.`, 'not-installed');
    }
    const current = isPlainObject(rows[0]!.config) ? rows[0]!.config : {};
    // Another key too deep to check or copy (written with SQL) must go first; this one is replaced.
    const { tooDeep } = readableConfig(current);
    const blocking = tooDeep.filter((other) => other !== key);
    if (blocking.length > 0) {
      throw new ConfigWriteError(`Refused: ${describeTarget(target)}: the stored ${blocking.map((other) => jsonPath([other])).join(', ')} ${blocking.length === 1 ? 'nests' : 'nest'} deeper than ${MAX_CONFIG_DEPTH} levels (written around this command): `
        + `${blocking.map((other) => unsetCommand(target.pluginId, target.tenant?.code, other)).join('; ')} ${blocking.length === 1 ? 'removes it' : 'remove them'}. Nothing changed.`, 'invalid',
      blocking.map((other) => ({ path: jsonPath([other]), message: `nests deeper than ${MAX_CONFIG_DEPTH} levels` })));
    }
    const previousTooDeep = tooDeep.includes(key);
    const previous = Object.hasOwn(current, key) && !previousTooDeep ? current[key] : undefined;
    const next: Record<string, unknown> = { ...current };
    if (value === undefined) delete next[key];
    else Object.defineProperty(next, key, { value, enumerable: true, writable: true, configurable: true });
    // Checked with the defaults filled in, as readers see it; stored without them, so a later default applies.
    const problems = schema.problems(schema.withDefaults(next));
    if (problems.length > 0) throw invalid(target, problems);
    const text = JSON.stringify(next);
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
      throw invalid(target, [{ path: jsonPath([key]), message: `makes the configuration ${Buffer.byteLength(text)} bytes long, over the ${MAX_CONFIG_BYTES} bytes allowed; keep large data in the module's tables` }]);
    }
    if (target.tenant) {
      await client.query('UPDATE public.sys_tenant_plugins SET config = $3::jsonb, updated_at = now() WHERE plugin_id = $1 AND tenant_id = $2', [target.pluginId, target.tenant.id, text]);
    } else {
      await client.query('UPDATE public.sys_plugins SET config = $2::jsonb, updated_at = now() WHERE plugin_id = $1', [target.pluginId, text]);
    }
    await client.query('COMMIT');
    return { previous, ...(previousTooDeep ? { previousTooDeep } : {}), config: next };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function invalid(target: ConfigTarget, problems: ConfigProblem[]): ConfigWriteError {
  return new ConfigWriteError(`Refused: ${describeTarget(target)}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}. Nothing changed.`, 'invalid', problems);
}
