/**
 * The one way this module's pages call its API: through the shell's `apiFetch` (it carries the
 * tenant and user), under the base path the host mounts the plugin at. Error answers become
 * `ApiError`s whose message a page can show as is.
 */
import type { ModulePageProps } from 'create-foundation-module/client';
import { pluginId } from '../plugin-id.ts';

/** The host mounts plugin `<id>` at `/api/plugins/<id>`, and nowhere else. */
export const basePath = `/api/plugins/${pluginId}`;

/** An error answer `{ error: { code, message, requestId, … } }` of the API. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For `VALIDATION_FAILED`: the input that was refused, e.g. `name`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export type ApiFetch = ModulePageProps['apiFetch'];

/** Sends a request under `basePath`; returns the parsed JSON body (undefined for 204). */
export async function requestJson<T>(apiFetch: ApiFetch, path: string, init?: RequestInit): Promise<T> {
  const res = await apiFetch(`${basePath}${path}`, init);
  if (!res.ok) throw await toApiError(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export function jsonBody(method: string, body: unknown): RequestInit {
  return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

async function toApiError(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: Record<string, unknown> } | null;
  const answer = body?.error ?? {};
  const { code, message, permission, field } = answer;
  if (typeof code !== 'string') {
    return new ApiError(res.status, `HTTP_${res.status}`, `The API answered HTTP ${res.status} ${res.statusText}: is it running?`);
  }
  const text = code === 'FORBIDDEN' && typeof permission === 'string'
    ? `You don't have permission ${permission}`
    : typeof message === 'string' ? message : code;
  const ref = typeof answer['requestId'] === 'string' ? `, request ${answer['requestId'].slice(0, 8)}` : '';
  return new ApiError(res.status, code, `${text} (${code}${ref})`, typeof field === 'string' ? field : undefined);
}
