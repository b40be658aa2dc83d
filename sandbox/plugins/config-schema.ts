/**
 * A module's configuration schemas (`configSchema` for tenant configuration, `globalConfigSchema`
 * for global), compiled with ajv. They are checked when the module loads, so that a schema ajv
 * can't read refuses the start rather than every later write; they check whole configuration
 * objects when written, and fill in the defaults of keys not set when read.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type ConfigLevel = 'tenant' | 'global';

/** The field of module.config.ts holding each level's schema. */
export const SCHEMA_FIELD: Record<ConfigLevel, 'configSchema' | 'globalConfigSchema'> = { tenant: 'configSchema', global: 'globalConfigSchema' };

export interface ConfigProblem {
  /** JSONPath of the value at fault, e.g. `$.pageSize` or `$.limits.tags[2]`. */
  path: string;
  /** What the schema wants there, in ajv's words ("must be integer", "must be <= 100"). */
  message: string;
}

export interface ConfigSchema {
  /** The schema as the module declares it (JSON). */
  source: Record<string, unknown>;
  /** The problems of `config` (a whole configuration object), [] when it is valid. */
  problems(config: unknown): ConfigProblem[];
  /** A copy of `config` with the schema's defaults filled in where keys are missing. */
  withDefaults(config: Record<string, unknown>): Record<string, unknown>;
}

export class ConfigSchemaError extends Error {
  override name = 'ConfigSchemaError';

  constructor(readonly field: string, readonly problem: string) {
    super(`${field} ${problem}`);
  }
}

/**
 * Compiles `schema` (the value of module.config.ts's field `field`), or throws a ConfigSchemaError
 * naming the field and what is wrong. Ajv's strict mode refuses unknown keywords and formats, so a
 * typo in a schema is not a check silently skipped.
 */
export function compileConfigSchema(schema: unknown, field: string): ConfigSchema {
  if (!isPlainObject(schema)) throw new ConfigSchemaError(field, `must be a JSON schema object (got ${describe(schema)})`);
  if (schema.type !== 'object') throw new ConfigSchemaError(field, `must describe an object of keys: give it "type": "object" (got ${JSON.stringify(schema.type)})`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigSchemaError(field, `must be plain JSON: ${(error as Error).message}`);
  }
  // One Ajv per schema: two modules may both use the same `$id`, which one instance refuses.
  const check = compile(new Ajv({ allErrors: true, strict: true }), json, field);
  const fill = compile(new Ajv({ allErrors: true, strict: true, useDefaults: true }), json, field);
  return {
    source: json,
    problems: (config) => (check(config) ? [] : (check.errors ?? []).map(problemOf)),
    withDefaults(config) {
      const copy = structuredClone(config);
      fill(copy); // fills defaults whether or not the rest is valid: reads answer as far as they can
      return copy;
    },
  };
}

function compile(ajv: Ajv, schema: Record<string, unknown>, field: string): ValidateFunction {
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new ConfigSchemaError(field, `is not a schema this host can use: ${(error as Error).message}`);
  }
}

function problemOf(error: ErrorObject): ConfigProblem {
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = error.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] };
  const child = params.additionalProperty ?? params.missingProperty;
  if (child !== undefined) segments.push(child);
  const allowed = params.allowedValues ? `: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}` : '';
  const wanted = params.additionalProperty !== undefined ? 'is not a key the schema declares'
    : params.missingProperty !== undefined ? 'is required' : `${error.message ?? 'is invalid'}${allowed}`;
  return { path: jsonPath(segments), message: wanted };
}

/** `$.a.b[2]`; a key that is no identifier is written `$["a b"]`. */
export function jsonPath(segments: readonly string[]): string {
  return `$${segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('')}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
