import type { PluginContext } from 'create-foundation-module';
import type { z } from 'zod';

/**
 * `schema.parse(value)`, except that a refusal becomes a 400 `VALIDATION_FAILED` naming the
 * field, e.g. `{ error: { code: 'VALIDATION_FAILED', message: 'name: must not be empty', field: 'name' } }`.
 */
export function parseInput<T>(ctx: PluginContext, schema: z.ZodType<T>, value: unknown, field = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '');
  const named = [field, path].filter(Boolean).join('.');
  throw ctx.httpError(400, 'VALIDATION_FAILED', `${named || 'body'}: ${issue.message}`, { field: named || 'body' });
}
