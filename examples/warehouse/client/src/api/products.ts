/** Typed client of the products API; every call goes through the shell's `apiFetch`. */
import { jsonBody, requestJson, type ApiFetch } from './http.ts';

export interface Product {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewProduct {
  name: string;
  description?: string | null;
}

/** Under the module's `basePath`. */
export const productsPath = '/products';

export function createProductsApi(apiFetch: ApiFetch) {
  const one = (id: string) => productsPath + '/' + encodeURIComponent(id);
  return {
    list: async () => (await requestJson<{ data: Product[] }>(apiFetch, productsPath)).data,
    get: async (id: string) => (await requestJson<{ data: Product }>(apiFetch, one(id))).data,
    create: async (input: NewProduct) =>
      (await requestJson<{ data: Product }>(apiFetch, productsPath, jsonBody('POST', input))).data,
    update: async (id: string, input: Partial<NewProduct>) =>
      (await requestJson<{ data: Product }>(apiFetch, one(id), jsonBody('PATCH', input))).data,
    remove: (id: string) => requestJson<void>(apiFetch, one(id), { method: 'DELETE' }),
  };
}

export type ProductsApi = ReturnType<typeof createProductsApi>;
