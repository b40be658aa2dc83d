// @vitest-environment happy-dom
/**
 * The shell's admin page "Plugins" (the figures of GET /api/admin/plugins/stats) in the real App
 * against a fake API (msw): who sees the menu entry, what the table shows, the API's refusals,
 * an unreachable API, the empty state and Refresh. That the real API answers the shape the page
 * reads is shell-plugin-stats-api.test.ts.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { MemoryRouter } from 'react-router-dom';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../client/src/App.tsx';
import type { Identities } from '../client/src/identity.ts';
import type { PluginStats } from '../client/src/plugin-stats.ts';

const STATS = '/api/admin/plugins/stats';
const PERMISSION = 'admin.plugins.read';
const ADMIN = 'admin@sandbox.dev';
const USER = 'user@sandbox.dev';

const identities: Identities = {
  tenants: [{ id: 't-dev', code: 'dev', name: 'Dev tenant' }],
  users: [
    { id: 'u-admin', email: ADMIN, name: 'Sandbox admin' },
    { id: 'u-user', email: USER, name: 'Sandbox user (no permissions)' },
  ],
  defaults: { tenant: 'dev', user: ADMIN },
};

/** As docs/observability.md shows it: one plugin with traffic, one without. */
const withTraffic: PluginStats = {
  since: '2026-01-01T09:00:00.000Z',
  p95Window: 1024,
  plugins: [
    { id: 'items', requests: 1520, errors: 3, errorRate: 3 / 1520, p95Ms: 12.417, statusClasses: { '2xx': 1490, '3xx': 0, '4xx': 27, '5xx': 3 } },
    { id: 'warehouse', requests: 0, errors: 0, errorRate: 0, p95Ms: null, statusClasses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } },
  ],
};

const noTraffic: PluginStats = {
  ...withTraffic,
  plugins: withTraffic.plugins.map((p) => ({ ...p, requests: 0, errors: 0, errorRate: 0, p95Ms: null, statusClasses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } })),
};

/** `X-Tenant-Id|X-User-Id` of each stats request: proves the page used the identity-carrying fetch. */
let statsCalls: string[] = [];

/**
 * identities, me (admin: the permission; user: none) and modules as the sandbox answers them;
 * `stats` answers the admin API, given the call's number (0 for the first).
 */
function fakeApi(stats: (call: number) => Response | Promise<Response>) {
  return [
    http.get('/api/sandbox/identities', () => HttpResponse.json(identities)),
    http.get('/api/sandbox/me', ({ request }) => {
      const user = identities.users.find((u) => u.email === request.headers.get('X-User-Id'));
      return HttpResponse.json({ tenant: identities.tenants[0], user, permissions: user?.email === ADMIN ? [PERMISSION, 'items.items.read'] : [] });
    }),
    http.get('/api/sandbox/modules', () => HttpResponse.json({ modules: [] })),
    http.get(STATS, ({ request }) => {
      statsCalls.push(`${request.headers.get('X-Tenant-Id')}|${request.headers.get('X-User-Id')}`);
      return stats(statsCalls.length - 1);
    }),
  ];
}

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  localStorage.clear();
  statsCalls = [];
});
afterEach(() => {
  server.resetHandlers();
  cleanup();
});
afterAll(() => server.close());

function renderShell({ at = '/', as = ADMIN }: { at?: string; as?: string } = {}) {
  localStorage.setItem('foundation-shell.identity', JSON.stringify({ tenant: 'dev', user: as }));
  render(<MemoryRouter initialEntries={[at]}><App /></MemoryRouter>);
}

/** The row of plugin `id`, cell texts from the id on (header order: see `header()`). */
function row(id: string): string[] {
  const table = screen.getByRole('table');
  const cell = within(table).getByRole('rowheader', { name: id });
  return Array.from(cell.closest('tr')!.children, (c) => c.textContent ?? '');
}

const header = () => within(screen.getByRole('table')).getAllByRole('columnheader').map((c) => c.textContent);

describe('shell admin page: Plugins', () => {
  it('is in the Admin menu for a caller holding admin.plugins.read, and shows the figures', async () => {
    server.use(...fakeApi(() => HttpResponse.json(withTraffic)));
    renderShell();

    const admin = await screen.findByRole('navigation', { name: 'Admin' });
    fireEvent.click(within(admin).getByRole('link', { name: 'Plugins' }));

    expect(await screen.findByRole('heading', { name: 'Plugins', level: 1 })).toBeTruthy();
    await screen.findByRole('table');
    expect(header()).toEqual(['Plugin', 'Requests', 'Errors (5xx)', 'Error rate', 'p95 (ms)', '2xx', '3xx', '4xx', '5xx']);
    expect(row('items')).toEqual(['items', '1,520', '3', '0.2%', '12.4', '1,490', '0', '27', '3']);
    expect(row('warehouse')).toEqual(['warehouse', '0', '0', '0%', '–', '0', '0', '0', '0']);
    expect(screen.getByText(/last 1024 requests/)).toBeTruthy();
    expect(statsCalls).toEqual([`dev|${ADMIN}`]);
  });

  it('is not in the menu without the permission', async () => {
    server.use(...fakeApi(() => HttpResponse.json(withTraffic)));
    renderShell({ as: USER });

    // Judged once `me` has answered (the switcher shows its count), not before.
    await screen.findByText('0 permissions');
    expect(screen.queryByRole('navigation', { name: 'Admin' })).toBeNull();
    expect(screen.queryByRole('link', { name: 'Plugins' })).toBeNull();
    expect(statsCalls).toEqual([]);
  });

  it.each([
    [403, { code: 'FORBIDDEN', message: `You lack the permission ${PERMISSION} in tenant dev.`, permission: PERMISSION, requestId: 'b52f67cd-2f8e-4b0e' }],
    [401, { code: 'UNAUTHENTICATED', message: `This route needs a signed-in user in a tenant (permission ${PERMISSION}).`, permission: PERMISSION }],
  ])('shows the message of a %i envelope, opened by URL', async (status, envelope) => {
    server.use(...fakeApi(() => HttpResponse.json({ error: envelope }, { status })));
    renderShell({ at: '/admin/plugins', as: USER });

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain(envelope.message);
    expect(alert.textContent).toContain(envelope.code);
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('says the API is not reachable on a network failure', async () => {
    server.use(...fakeApi(() => HttpResponse.error()));
    renderShell({ at: '/admin/plugins' });

    expect((await screen.findByRole('alert')).textContent).toMatch(/^API not reachable/);
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('says which field is off when the answer has another shape', async () => {
    server.use(...fakeApi(() => HttpResponse.json({ ...withTraffic, plugins: [{ ...withTraffic.plugins[0], p95Ms: undefined }] })));
    renderShell({ at: '/admin/plugins' });

    expect((await screen.findByRole('alert')).textContent).toContain(`Unexpected answer from ${STATS}: p95Ms of "items" is neither a number nor null.`);
  });

  it('shows an empty state when no plugin has had a request yet', async () => {
    server.use(...fakeApi(() => HttpResponse.json(noTraffic)));
    renderShell({ at: '/admin/plugins' });

    expect(await screen.findByText(/No plugin has had a request since/)).toBeTruthy();
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('fetches again on Refresh and shows the new figures', async () => {
    const later: PluginStats = { ...withTraffic, plugins: [{ ...withTraffic.plugins[0]!, requests: 1600, statusClasses: { ...withTraffic.plugins[0]!.statusClasses, '2xx': 1570 } }] };
    server.use(...fakeApi((call) => HttpResponse.json(call === 0 ? noTraffic : later)));
    renderShell({ at: '/admin/plugins' });

    await screen.findByText(/No plugin has had a request since/);
    fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));

    await screen.findByRole('table');
    expect(row('items').slice(0, 2)).toEqual(['items', '1,600']);
    expect(statsCalls).toHaveLength(2);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Refresh' }).disabled).toBe(false);
  });

  it('Retry after an error fetches again', async () => {
    server.use(...fakeApi((call) => (call === 0 ? HttpResponse.error() : HttpResponse.json(withTraffic))));
    renderShell({ at: '/admin/plugins' });

    const alert = await screen.findByRole('alert');
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));

    await screen.findByRole('table');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(statsCalls).toHaveLength(2);
  });

  it('asks again as the new caller when the user is switched', async () => {
    server.use(...fakeApi((call) => (call === 0
      ? HttpResponse.json(withTraffic)
      : HttpResponse.json({ error: { code: 'FORBIDDEN', message: `You lack the permission ${PERMISSION} in tenant dev.`, permission: PERMISSION } }, { status: 403 }))));
    renderShell({ at: '/admin/plugins' });
    await screen.findByRole('table');

    fireEvent.change(screen.getByLabelText('User'), { target: { value: USER } });

    // The previous caller's figures go away with the refusal; nothing of them stays on screen.
    expect((await screen.findByRole('alert')).textContent).toContain('You lack the permission');
    expect(screen.queryByRole('table')).toBeNull();
    await waitFor(() => expect(statsCalls).toEqual([`dev|${ADMIN}`, `dev|${USER}`]));
    expect(screen.queryByRole('navigation', { name: 'Admin' })).toBeNull();
  });
});
