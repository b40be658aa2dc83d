// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, expect, it } from 'vitest';
import OverviewPage from '@client/pages/OverviewPage.tsx';

afterEach(cleanup);

// This page calls no API yet; when it does, answer its requests with msw as the entity page tests do.
const apiFetch = () => Promise.reject(new Error('OverviewPage called the API; give this test msw handlers.'));

it('shows the overview page in the current tenant', () => {
  render(<OverviewPage apiFetch={apiFetch} tenant="acme" />);
  expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Overview in tenant acme');
});
