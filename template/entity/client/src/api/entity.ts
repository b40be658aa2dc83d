/** Typed client of the {{many.lower}} API; every call goes through the shell's `apiFetch`. */
import { jsonBody, requestJson, type ApiFetch } from './http.ts';

export interface {{one.pascal}} {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface New{{one.pascal}} {
  name: string;
  description?: string | null;
}

/** Under the module's `basePath`. */
export const {{many.camel}}Path = '/{{many.kebab}}';

export function create{{many.pascal}}Api(apiFetch: ApiFetch) {
  const one = (id: string) => {{many.camel}}Path + '/' + encodeURIComponent(id);
  return {
    list: async () => (await requestJson<{ data: {{one.pascal}}[] }>(apiFetch, {{many.camel}}Path)).data,
    get: async (id: string) => (await requestJson<{ data: {{one.pascal}} }>(apiFetch, one(id))).data,
    create: async (input: New{{one.pascal}}) =>
      (await requestJson<{ data: {{one.pascal}} }>(apiFetch, {{many.camel}}Path, jsonBody('POST', input))).data,
    update: async (id: string, input: Partial<New{{one.pascal}}>) =>
      (await requestJson<{ data: {{one.pascal}} }>(apiFetch, one(id), jsonBody('PATCH', input))).data,
    remove: (id: string) => requestJson<void>(apiFetch, one(id), { method: 'DELETE' }),
  };
}

export type {{many.pascal}}Api = ReturnType<typeof create{{many.pascal}}Api>;
