/** Typed client of the items API; every call goes through the shell's `apiFetch`. */
import { jsonBody, requestJson, type ApiFetch } from './http.ts';

export interface Item {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewItem {
  name: string;
  description?: string | null;
}

/** Under the module's `basePath`. */
export const itemsPath = '/items';

export function createItemsApi(apiFetch: ApiFetch) {
  const one = (id: string) => itemsPath + '/' + encodeURIComponent(id);
  return {
    list: async () => (await requestJson<{ data: Item[] }>(apiFetch, itemsPath)).data,
    get: async (id: string) => (await requestJson<{ data: Item }>(apiFetch, one(id))).data,
    create: async (input: NewItem) =>
      (await requestJson<{ data: Item }>(apiFetch, itemsPath, jsonBody('POST', input))).data,
    update: async (id: string, input: Partial<NewItem>) =>
      (await requestJson<{ data: Item }>(apiFetch, one(id), jsonBody('PATCH', input))).data,
    remove: (id: string) => requestJson<void>(apiFetch, one(id), { method: 'DELETE' }),
  };
}

export type ItemsApi = ReturnType<typeof createItemsApi>;
