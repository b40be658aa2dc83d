import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { ModulePageProps } from 'create-foundation-module/client';
import { ApiError } from '../api/http.ts';
import { createProductsApi, type Product, type NewProduct } from '../api/products.ts';

/** Lists the tenant's products; creates and deletes them. Talks to the API only through `apiFetch`. */
export default function ProductsPage({ apiFetch, tenant }: ModulePageProps) {
  const api = useMemo(() => createProductsApi(apiFetch), [apiFetch]);
  const [list, setList] = useState<Product[] | null>(null);
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    let current = true;
    api.list().then(
      (loaded) => current && setList(loaded),
      (err: Error) => current && setError(err),
    );
    return () => {
      current = false;
    };
  }, [api]);

  async function remove(row: Product) {
    setError(null);
    try {
      await api.remove(row.id);
      setList((shown) => shown?.filter((r) => r.id !== row.id) ?? shown);
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <>
      <h1>Products <small className="shell-muted">in tenant {tenant}</small></h1>
      {error && <p className="shell-error" role="alert">{error.message}</p>}
      <NewProductForm
        onCreate={async (input) => {
          const created = await api.create(input);
          setList((shown) => [created, ...(shown ?? [])]);
        }}
      />
      {list === null && !error && <p className="shell-muted">Loading products…</p>}
      {list?.length === 0 && <p className="shell-muted">No products yet in this tenant.</p>}
      {list && list.length > 0 && (
        <table>
          <thead>
            <tr><th>Name</th><th>Description</th><th>Created</th><th /></tr>
          </thead>
          <tbody>
            {list.map((row) => (
              <tr key={row.id}>
                <td>{row.name}</td>
                <td>{row.description}</td>
                <td>{new Date(row.createdAt).toLocaleString()}</td>
                <td><button type="button" onClick={() => remove(row)}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function NewProductForm({ onCreate }: { onCreate: (input: NewProduct) => Promise<void> }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  // A 400 names the refused input in `field`: mark that input, not just the form.
  const badField = error instanceof ApiError ? error.field : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onCreate({ name, ...(description ? { description } : {}) });
      setName('');
      setDescription('');
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} aria-label="New product">
      <input aria-label="Name" placeholder="Name" value={name} aria-invalid={badField === 'name'} onChange={(e) => setName(e.target.value)} />
      <input aria-label="Description" placeholder="Description" value={description} aria-invalid={badField === 'description'} onChange={(e) => setDescription(e.target.value)} />
      <button type="submit" disabled={busy}>Add product</button>
      {error && <p className="shell-error" role="alert">{error.message}</p>}
    </form>
  );
}
