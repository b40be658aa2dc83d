// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
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

function row(name: string): Item {
  const now = new Date().toISOString();
  return { id: crypto.randomUUID(), name, description: null, createdAt: now, updatedAt: now };
}

it('lists the tenant\'s items', async () => {
  server.use(http.get(url, () => HttpResponse.json({ data: [row('Alpha'), row('Beta')] })));
  render(<ItemsPage apiFetch={apiFetch} tenant="dev" />);

  expect(await screen.findByText('Alpha')).toBeTruthy();
  expect(screen.getByText('Beta')).toBeTruthy();
  expect(screen.getByText('in tenant dev')).toBeTruthy();
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
    http.get(url, () => HttpResponse.json({ data: [] })),
    http.post(url, async ({ request }) => {
      posted.push(await request.json());
      return HttpResponse.json({ data: row('Gamma') }, { status: 201 });
    }),
  );
  render(<ItemsPage apiFetch={apiFetch} tenant="dev" />);
  await screen.findByText('No items yet in this tenant.');

  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Gamma' } });
  fireEvent.click(screen.getByRole('button', { name: 'Add item' }));

  expect(await screen.findByText('Gamma')).toBeTruthy();
  expect(posted).toEqual([{ name: 'Gamma' }]);
});
