/**
 * Typed client of this module's API. Calls go through the shell's `apiFetch` (it carries the
 * tenant and user), and error answers become `ItemsApiError`s with a readable message.
 */
import type { ModulePageProps } from 'create-foundation-module/client';
import { pluginId } from './plugin-id.ts';

export interface Item {
  id: string;
  name: string;
  description: string | null;
  quantity: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewItem {
  name: string;
  description?: string | null;
  quantity?: number;
}

/** The host mounts plugin `<id>` at `/api/plugins/<id>`, and nowhere else. */
export const basePath = `/api/plugins/${pluginId}`;

/** An error answer `{ error: { code, message, requestId, … } }` of the API. */
export class ItemsApiError extends Error {
  override readonly name = 'ItemsApiError';
  readonly status: number;
  readonly code: string;
  /** For `VALIDATION_FAILED`: the input that was refused, e.g. `name`. */
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function toError(res: Response): Promise<ItemsApiError> {
  const body = (await res.json().catch(() => null)) as { error?: Record<string, unknown> } | null;
  const { code, message, requestId, permission, field } = body?.error ?? {};
  if (typeof code !== 'string') {
    return new ItemsApiError(res.status, `HTTP_${res.status}`, `The API answered HTTP ${res.status} ${res.statusText}: is it running?`);
  }
  const text = code === 'FORBIDDEN' && typeof permission === 'string'
    ? `You don't have permission ${permission}`
    : typeof message === 'string' ? message : code;
  const ref = typeof requestId === 'string' ? `, request ${requestId.slice(0, 8)}${requestId.length > 8 ? '…' : ''}` : '';
  return new ItemsApiError(res.status, code, `${text} (${code}${ref})`, typeof field === 'string' ? field : undefined);
}

export function createItemsApi(apiFetch: ModulePageProps['apiFetch']) {
  async function call(path: string, init?: RequestInit): Promise<Response> {
    const res = await apiFetch(`${basePath}${path}`, init);
    if (!res.ok) throw await toError(res);
    return res;
  }
  const json = { 'Content-Type': 'application/json' };

  return {
    async list(): Promise<Item[]> {
      const { data } = (await (await call('/items')).json()) as { data: Item[] };
      return data;
    },
    async create(input: NewItem): Promise<Item> {
      const res = await call('/items', { method: 'POST', headers: json, body: JSON.stringify(input) });
      return ((await res.json()) as { data: Item }).data;
    },
    async remove(id: string): Promise<void> {
      await call(`/items/${encodeURIComponent(id)}`, { method: 'DELETE' });
    },
  };
}

export type ItemsApi = ReturnType<typeof createItemsApi>;
