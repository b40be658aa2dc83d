// @vitest-environment happy-dom
/**
 * The real shell (App: session, switchers, menu, home) against a fake sandbox API (msw): which
 * identity it starts as, and which names it shows for modules. The built bundle is covered by
 * shell-build.test.ts, the real /api/sandbox routes by the API's own tests.
 */
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { MemoryRouter } from 'react-router-dom';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import manifests from 'virtual:foundation-modules';
import { App } from '../client/src/App.tsx';
import type { Identities } from '../client/src/identity.ts';

// `virtual:foundation-modules` is the real one (vitest.config.ts): the example modules' manifests,
// as a bare `npm run dev` loads them. Their menus hold no `section`, so each group is a module.
const ids = manifests.map((m) => m.id);
/** Every permission a menu entry needs: the fake `me` holds them all, so every entry shows. */
const allPermissions = manifests.flatMap((m) => m.menu.flatMap((entry) => entry.permission ?? []));
/** As the examples' module.config.ts files name them. */
const NAMES: Record<string, string> = { items: 'Items', warehouse: 'Warehouse' };

const STORAGE_KEY = 'foundation-shell.identity';

/** As the sandbox answers: tenants ordered by code (acme first), the dev admin as default. */
const identities: Identities = {
  tenants: [
    { id: 't-acme', code: 'acme', name: 'Acme Corp' },
    { id: 't-dev', code: 'dev', name: 'Dev tenant' },
  ],
  users: [
    { id: 'u-admin', email: 'admin@sandbox.dev', name: 'Sandbox admin' },
    { id: 'u-user', email: 'user@sandbox.dev', name: 'Sandbox user (no permissions)' },
  ],
  defaults: { tenant: 'dev', user: 'admin@sandbox.dev' },
};

/** `X-Tenant-Id|X-User-Id` of every `me` request: who the shell really acted as. */
let actedAs: string[] = [];

function fakeApi(overrides: { identities?: Identities; modules?: () => Response } = {}) {
  return [
    http.get('/api/sandbox/identities', () => HttpResponse.json(overrides.identities ?? identities)),
    http.get('/api/sandbox/me', ({ request }) => {
      const tenant = request.headers.get('X-Tenant-Id');
      const user = request.headers.get('X-User-Id');
      actedAs.push(`${tenant}|${user}`);
      const all = (overrides.identities ?? identities);
      return HttpResponse.json({
        tenant: all.tenants.find((t) => t.code === tenant),
        user: all.users.find((u) => u.email === user),
        permissions: allPermissions,
      });
    }),
    http.get('/api/sandbox/modules', overrides.modules ?? (() => HttpResponse.json({
      modules: Object.entries(NAMES).map(([id, name]) => ({ id, name, version: '0.1.0' })),
    }))),
  ];
}

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  localStorage.clear();
  actedAs = [];
});
afterEach(() => {
  server.resetHandlers();
  cleanup();
  vi.restoreAllMocks();
});
afterAll(() => server.close());

function renderShell() {
  render(<MemoryRouter><App /></MemoryRouter>);
}

/** Tenant and user the switchers show once the identities have loaded. */
async function chosen(): Promise<{ tenant: string; user: string }> {
  const tenant = await screen.findByLabelText<HTMLSelectElement>('Tenant');
  const user = screen.getByLabelText<HTMLSelectElement>('User');
  return { tenant: tenant.value, user: user.value };
}

describe('shell identity', () => {
  it('starts as the API\'s default (dev admin), not the first tenant, when nothing is remembered', async () => {
    server.use(...fakeApi());
    renderShell();

    expect(await chosen()).toEqual({ tenant: 'dev', user: 'admin@sandbox.dev' });
    await waitFor(() => expect(actedAs).toEqual(['dev|admin@sandbox.dev']));
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY)!)).toEqual({ tenant: 'dev', user: 'admin@sandbox.dev' });
  });

  it('keeps a remembered choice that still exists', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ tenant: 'acme', user: 'user@sandbox.dev' }));
    server.use(...fakeApi());
    renderShell();

    expect(await chosen()).toEqual({ tenant: 'acme', user: 'user@sandbox.dev' });
    await waitFor(() => expect(actedAs).toEqual(['acme|user@sandbox.dev']));
  });

  it('falls back to the defaults when the remembered tenant and user are gone', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ tenant: 'deleted', user: 'gone@sandbox.dev' }));
    server.use(...fakeApi());
    renderShell();

    expect(await chosen()).toEqual({ tenant: 'dev', user: 'admin@sandbox.dev' });
    await waitFor(() => expect(actedAs).toEqual(['dev|admin@sandbox.dev']));
  });

  it('falls back per field: a remembered tenant stays while a gone user becomes the default', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ tenant: 'acme', user: 'gone@sandbox.dev' }));
    server.use(...fakeApi({ identities: { ...identities, users: [...identities.users].reverse() } }));
    renderShell();

    expect(await chosen()).toEqual({ tenant: 'acme', user: 'admin@sandbox.dev' });
  });

  it('takes the first tenant and user when the defaults are not in the lists (or not sent)', async () => {
    server.use(...fakeApi({ identities: { ...identities, defaults: { tenant: 'removed', user: 'removed@sandbox.dev' } } }));
    renderShell();
    expect(await chosen()).toEqual({ tenant: 'acme', user: 'admin@sandbox.dev' });
    cleanup();
    localStorage.clear();

    const { defaults: _, ...older } = identities;
    server.use(...fakeApi({ identities: older }));
    renderShell();
    expect(await chosen()).toEqual({ tenant: 'acme', user: 'admin@sandbox.dev' });
  });
});

describe('shell module names', () => {
  const menuTitles = () => within(screen.getByRole('navigation', { name: 'Modules' })).getAllByRole('heading').map((h) => h.textContent);
  const homeTitles = () => within(screen.getByRole('main')).getAllByRole('heading', { level: 2 }).map((h) => h.textContent);

  it('examples: items and warehouse are loaded', () => {
    expect(ids).toEqual(expect.arrayContaining(Object.keys(NAMES)));
  });

  it('titles menu groups and home headings with module.config.ts names, keeping the id on the home page', async () => {
    server.use(...fakeApi());
    renderShell();

    await waitFor(() => expect(menuTitles()).toEqual(expect.arrayContaining(['Items', 'Warehouse'])));
    expect(menuTitles()).not.toContain('items');
    expect(menuTitles()).not.toContain('warehouse');
    expect(homeTitles()).toEqual(expect.arrayContaining(['Items', 'Warehouse']));
    expect(homeTitles()).not.toContain('items');
    // The id stays visible on the home page, as secondary text.
    const main = within(screen.getByRole('main'));
    expect(main.getByText('items').tagName).toBe('CODE');
    expect(main.getByText('warehouse').tagName).toBe('CODE');
  });

  it('shows the id of a module the API does not name', async () => {
    server.use(...fakeApi({ modules: () => HttpResponse.json({ modules: [{ id: 'warehouse', name: 'Warehouse', version: '0.1.0' }] }) }));
    renderShell();

    await waitFor(() => expect(menuTitles()).toEqual(expect.arrayContaining(['items', 'Warehouse'])));
    expect(homeTitles()).toEqual(expect.arrayContaining(['items', 'Warehouse']));
  });

  it('shows the ids, and no error, when /api/sandbox/modules fails', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    server.use(...fakeApi({
      modules: () => HttpResponse.json({ error: { code: 'INTERNAL', message: 'boom', requestId: 'r1' } }, { status: 500 }),
    }));
    renderShell();

    // Judged after the failure was handled, not before the answer came.
    await waitFor(() => expect(warn).toHaveBeenCalledWith('Module names unavailable, showing ids:', expect.any(Error)));
    await waitFor(() => expect(menuTitles()).toEqual(expect.arrayContaining(['items', 'warehouse'])));
    expect(homeTitles()).toEqual(ids);
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('shell opened before the API answers', () => {
  const menuTitles = () => within(screen.getByRole('navigation', { name: 'Modules' })).queryAllByRole('heading').map((h) => h.textContent);
  /** The dev proxy's answer while nothing listens on the API's port (client/vite.config.ts). */
  const proxyDown = () => HttpResponse.json({ error: { code: 'API_UNREACHABLE', message: 'API not reachable at http://127.0.0.1:3000: is `npm run dev` running?' } }, { status: 502 });

  it.each([
    ['a network error', () => HttpResponse.error()],
    ['the dev proxy\'s 502 API_UNREACHABLE', proxyDown],
  ])('says the API is starting while its requests meet %s, then shows the modules without a reload', async (_what, down) => {
    let identityCalls = 0;
    server.use(
      http.get('/api/sandbox/identities', () => (++identityCalls <= 2 ? down() : undefined)),
      ...fakeApi(),
    );
    renderShell();

    expect((await screen.findByRole('status')).textContent).toMatch(/^The API is starting… Trying again every \d s\.$/);
    expect(screen.queryByRole('alert')).toBeNull();
    await waitFor(() => expect(menuTitles()).toEqual(expect.arrayContaining(['Items', 'Warehouse'])), { timeout: 5_000 });
    expect(identityCalls).toBe(3);
    expect(screen.queryByRole('status')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(await chosen()).toEqual({ tenant: 'dev', user: 'admin@sandbox.dev' });
  });

  it('waits the same way when the API goes away between identities and me (a restart)', async () => {
    let meCalls = 0;
    server.use(
      http.get('/api/sandbox/me', () => (++meCalls <= 1 ? HttpResponse.error() : undefined)),
      ...fakeApi(),
    );
    renderShell();

    expect((await screen.findByRole('status')).textContent).toMatch(/^The API is starting…/);
    await waitFor(() => expect(menuTitles()).toEqual(expect.arrayContaining(['Items', 'Warehouse'])), { timeout: 5_000 });
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('still shows an answer that is an error (not a missing API) at once, with Retry', async () => {
    server.use(
      http.get('/api/sandbox/identities', () => HttpResponse.json({ error: { code: 'INTERNAL', message: 'boom', requestId: 'r1' } }, { status: 500 })),
      ...fakeApi(),
    );
    renderShell();

    expect((await screen.findByRole('alert')).textContent).toMatch(/boom \(INTERNAL, request r1\)Retry/);
    expect(screen.queryByRole('status')).toBeNull();
  });
});
