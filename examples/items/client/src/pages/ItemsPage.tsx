import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { ModulePageProps } from 'create-foundation-module/client';
import { createItemsApi, ItemsApiError, type Item } from '../api.ts';

/** Lists the tenant's items; creates and deletes them. Talks to the API only through `apiFetch`. */
export default function ItemsPage({ apiFetch, tenant }: ModulePageProps) {
  const api = useMemo(() => createItemsApi(apiFetch), [apiFetch]);
  const [items, setItems] = useState<Item[] | null>(null);
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    let current = true;
    api.list().then(
      (loaded) => current && setItems(loaded),
      (err: Error) => current && setError(err),
    );
    return () => { current = false; };
  }, [api]);

  async function remove(item: Item) {
    setError(null);
    try {
      await api.remove(item.id);
      setItems((list) => list?.filter((i) => i.id !== item.id) ?? list);
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <>
      <h1>Items <small className="shell-muted">in tenant {tenant}</small></h1>
      {error && <p className="shell-error" role="alert">{error.message}</p>}
      <NewItemForm
        onCreate={async (input) => {
          const item = await api.create(input);
          setItems((list) => [item, ...(list ?? [])]);
        }}
      />
      {items === null && !error && <p className="shell-muted">Loading items…</p>}
      {items?.length === 0 && <p className="shell-muted">No items yet in this tenant.</p>}
      {items && items.length > 0 && (
        <table>
          <thead>
            <tr><th>Name</th><th>Description</th><th>Quantity</th><th>Created</th><th /></tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id}>
                <td>{item.name}</td>
                <td>{item.description}</td>
                <td>{item.quantity}</td>
                <td>{new Date(item.createdAt).toLocaleString()}</td>
                <td><button type="button" onClick={() => remove(item)}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

type Field = 'name' | 'description' | 'quantity';

function NewItemForm({ onCreate }: { onCreate: (input: { name: string; description?: string; quantity?: number }) => Promise<void> }) {
  const [values, setValues] = useState<Record<Field, string>>({ name: '', description: '', quantity: '' });
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  // A 400 names the refused input in `field`: mark that input, not just the form.
  const badField = error instanceof ItemsApiError ? error.field : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onCreate({
        name: values.name,
        ...(values.description ? { description: values.description } : {}),
        // The API says what is wrong with a bad number; the form does not second-guess it.
        ...(values.quantity !== '' ? { quantity: Number(values.quantity) } : {}),
      });
      setValues({ name: '', description: '', quantity: '' });
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  const input = (field: Field, label: string, type = 'text') => (
    <input
      aria-label={label}
      placeholder={label}
      type={type}
      value={values[field]}
      aria-invalid={badField === field}
      onChange={(e) => setValues({ ...values, [field]: e.target.value })}
    />
  );

  return (
    <form onSubmit={submit} aria-label="New item">
      {input('name', 'Name')}
      {input('description', 'Description')}
      {input('quantity', 'Quantity', 'number')}
      <button type="submit" disabled={busy}>Add item</button>
      {error && <p className="shell-error" role="alert" style={{ flexBasis: '100%' }}>{error.message}</p>}
    </form>
  );
}
