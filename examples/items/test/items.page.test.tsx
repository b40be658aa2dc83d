// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { basePath } from '@client/api/http.ts';
import { itemsPath, type Item } from '@client/api/items.ts';
import ItemsPage from '@client/pages/ItemsPage.tsx';

// The page talks to a fake API (msw) here; test/items.api.test.ts covers the real one.
const origin = 'http://module.test';
const url = origin + basePath + itemsPath;
const apiFetch = (path: string, init?: RequestInit) => fetch(new URL(path, origin), init);

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  cleanup();
});
afterAll(() => server.close());

function row(name: string, description: string | null = null): Item {
  const now = new Date().toISOString();
  return { id: crypto.randomUUID(), name, description, createdAt: now, updatedAt: now };
}

/** The name and description cells of each row the page lists, top to bottom. */
function listedRows(): string[][] {
  return within(screen.getByRole('table')).getAllByRole('row').slice(1)
    .map((tr) => within(tr).getAllByRole('cell').slice(0, 2).map((td) => td.textContent ?? ''));
}

it('lists the tenant\'s items in the order the API sends them', async () => {
  server.use(http.get(url, () => HttpResponse.json({ data: [row('Alpha', 'The first'), row('Beta')] })));
  render(<ItemsPage apiFetch={apiFetch} tenant="dev" />);

  await waitFor(() => expect(listedRows()).toEqual([['Alpha', 'The first'], ['Beta', '']]));
  expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Items in tenant dev');
});

it('shows a refusal as a message naming the missing permission', async () => {
  server.use(http.get(url, () => HttpResponse.json(
    { error: { code: 'FORBIDDEN', message: 'Forbidden', permission: 'items.items.read', requestId: 'req-1' } },
    { status: 403 },
  )));
  render(<ItemsPage apiFetch={apiFetch} tenant="dev" />);

  expect((await screen.findByRole('alert')).textContent).toBe("You don't have permission items.items.read (FORBIDDEN, request req-1)");
});

it('creates an item and shows it at the top of the list', async () => {
  const posted: unknown[] = [];
  server.use(
    http.get(url, () => HttpResponse.json({ data: [row('Alpha')] })),
    http.post(url, async ({ request }) => {
      posted.push(await request.json());
      return HttpResponse.json({ data: row('Gamma') }, { status: 201 });
    }),
  );
  render(<ItemsPage apiFetch={apiFetch} tenant="dev" />);
  await waitFor(() => expect(listedRows()).toEqual([['Alpha', '']]));

  const name = screen.getByLabelText<HTMLInputElement>('Name');
  fireEvent.change(name, { target: { value: 'Gamma' } });
  fireEvent.click(screen.getByRole('button', { name: 'Add item' }));

  await waitFor(() => expect(listedRows()).toEqual([['Gamma', ''], ['Alpha', '']]));
  expect(posted).toEqual([{ name: 'Gamma' }]);
  expect(name.value).toBe('');
});
