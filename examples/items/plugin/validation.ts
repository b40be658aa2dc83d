import type { PluginContext } from 'create-foundation-module/contract';
import type { z } from 'zod';

/**
 * `schema.parse(value)`, except that a refusal becomes a 400 `VALIDATION_FAILED` naming the
 * field, e.g. `{ error: { code: 'VALIDATION_FAILED', message: 'name: must not be empty', field: 'name' } }`.
 * A missing field reads `name: is required`; a request without a JSON body, `body: is required: send a JSON object`.
 */
export function parseInput<T>(ctx: PluginContext, schema: z.ZodType<T>, value: unknown, field = ''): T {
  // reportInput: each issue carries the value it refused, so that a missing one can say so.
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '');
  const named = [field, path].filter(Boolean).join('.') || 'body';
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  const problem = !missing ? issue.message : named === 'body' ? 'is required: send a JSON object' : 'is required';
  throw ctx.httpError(400, 'VALIDATION_FAILED', `${named}: ${problem}`, { field: named });
}
