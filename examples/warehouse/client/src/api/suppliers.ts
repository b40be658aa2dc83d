/** Typed client of the suppliers API; every call goes through the shell's `apiFetch`. */
import { jsonBody, requestJson, type ApiFetch } from './http.ts';

export interface Supplier {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewSupplier {
  name: string;
  description?: string | null;
}

/** Under the module's `basePath`. */
export const suppliersPath = '/suppliers';

export function createSuppliersApi(apiFetch: ApiFetch) {
  const one = (id: string) => suppliersPath + '/' + encodeURIComponent(id);
  return {
    list: async () => (await requestJson<{ data: Supplier[] }>(apiFetch, suppliersPath)).data,
    get: async (id: string) => (await requestJson<{ data: Supplier }>(apiFetch, one(id))).data,
    create: async (input: NewSupplier) =>
      (await requestJson<{ data: Supplier }>(apiFetch, suppliersPath, jsonBody('POST', input))).data,
    update: async (id: string, input: Partial<NewSupplier>) =>
      (await requestJson<{ data: Supplier }>(apiFetch, one(id), jsonBody('PATCH', input))).data,
    remove: (id: string) => requestJson<void>(apiFetch, one(id), { method: 'DELETE' }),
  };
}

export type SuppliersApi = ReturnType<typeof createSuppliersApi>;
