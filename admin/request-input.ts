/**
 * Reading what a client sends the admin API, strictly: each query parameter once, known names
 * only, each checked by its rule; a JSON body with known fields of the right types. Anything
 * else is a 400 naming the parameter or field and what it takes, before any query runs.
 */
import type { Request } from 'express';
import { pluginIdProblem, tenantCodeProblem } from '../rules/index.ts';
import { HttpError } from '../foundation-lib/http-error.ts';
import { actorTextProblem } from '../sandbox/data/transaction-actor.ts';

export type QueryRule = (value: string) => string | undefined;

/** The query's parameters as single strings, refusing unknown and repeated ones and any value a rule refuses. */
export function readQuery<K extends string>(req: Request, rules: Record<K, QueryRule>): Partial<Record<K, string>> {
  const query = req.query as Record<string, unknown>;
  const values: Partial<Record<K, string>> = {};
  for (const [name, value] of Object.entries(query)) {
    if (!Object.hasOwn(rules, name)) {
      throw new HttpError(400, 'INVALID_QUERY', `Unknown query parameter "${name.slice(0, 64)}": this route takes ${Object.keys(rules).join(', ') || 'none'}.`, { parameter: name.slice(0, 64) });
    }
    if (typeof value !== 'string') throw new HttpError(400, 'INVALID_QUERY', `Query parameter ${name} is given more than once (or as an object); give it once.`, { parameter: name });
    const problem = rules[name as K](value);
    if (problem) throw new HttpError(400, 'INVALID_QUERY', `Query parameter ${name} ${problem}.`, { parameter: name });
    values[name as K] = value;
  }
  return values;
}

export const rules = {
  pluginId: (value: string) => (pluginIdProblem(value) ? `is not a plugin id: it ${pluginIdProblem(value)}` : undefined),
  tenantCode: (value: string) => (tenantCodeProblem(value) ? `is not a tenant code: it ${tenantCodeProblem(value)}` : undefined),
  oneOf: (...allowed: string[]) => (value: string) => (allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value.slice(0, 64))})`),
  text: (max: number) => (value: string) => (value.length > max ? `is longer than ${max} characters`
    // eslint-disable-next-line no-control-regex
    : /[\u0000-\u001f\u007f]/.test(value) ? 'holds a control character' : undefined),
  version: (value: string) => (/^[0-9A-Za-z.+-]{1,64}$/.test(value) ? undefined : 'is not a version (digits, letters, dots, + and -, at most 64)'),
  integer: (min: number, max: number) => (value: string) => (/^\d{1,9}$/.test(value) && Number(value) >= min && Number(value) <= max ? undefined : `must be a whole number from ${min} to ${max}`),
  cursor: (value: string) => (/^[1-9][0-9]{0,17}$/.test(value) ? undefined : 'is not a cursor this API gave'),
  instant: (value: string) => (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) && !Number.isNaN(Date.parse(value))
    ? undefined : 'is not a date or time (ISO 8601: 2026-12-05 or 2026-12-05T10:00:00Z)'),
  actor: (value: string) => (actorTextProblem(value) ? `is not an actor: it ${actorTextProblem(value)}` : undefined),
};

type FieldType = 'boolean' | 'string';

/** The JSON body's fields, each of its type; `required` ones present. */
export function readBody<F extends Record<string, { type: FieldType; required?: boolean; max?: number }>>(req: Request, fields: F): { [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : string } {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_BODY', `Send a JSON object with ${Object.keys(fields).join(', ')} (Content-Type: application/json).`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(fields, key)) throw new HttpError(400, 'INVALID_BODY', `Unknown field "${key.slice(0, 64)}": this route takes ${Object.keys(fields).join(', ')}.`, { field: key.slice(0, 64) });
  }
  for (const [key, rule] of Object.entries(fields)) {
    const value = (body as Record<string, unknown>)[key];
    if (value === undefined) {
      if (rule.required) throw new HttpError(400, 'INVALID_BODY', `Field ${key} is required (${rule.type}).`, { field: key });
      continue;
    }
    if (typeof value !== rule.type) throw new HttpError(400, 'INVALID_BODY', `Field ${key} must be a ${rule.type} (got ${value === null ? 'null' : typeof value}).`, { field: key });
    if (rule.type === 'string') {
      const problem = rules.text(rule.max ?? 500)(value as string) ?? ((value as string).trim() === '' ? 'is empty' : undefined);
      if (problem) throw new HttpError(400, 'INVALID_BODY', `Field ${key} ${problem}.`, { field: key });
    }
    out[key] = value;
  }
  return out as never;
}

/** The revision an `If-Match: "r<n>"` names; 428 without one, 400 for a malformed one. */
export function readIfMatch(req: Request): number {
  const header = req.get('If-Match');
  if (header === undefined) {
    throw new HttpError(428, 'PRECONDITION_REQUIRED', 'This change needs the If-Match header with the ETag of what you read (GET it first), so that it is refused if someone changed it since.');
  }
  const match = /^"r(\d{1,15})"$/.exec(header.trim());
  if (!match) throw new HttpError(400, 'INVALID_IF_MATCH', `If-Match ${JSON.stringify(header.slice(0, 64))} is not an ETag this API gave (they look like "r12").`);
  return Number(match[1]);
}

export const etag = (revision: number) => `"r${revision}"`;
