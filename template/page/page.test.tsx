// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, expect, it } from 'vitest';
import {{page.pascal}}Page from '@client/pages/{{page.pascal}}Page.tsx';

afterEach(cleanup);

// This page calls no API yet; when it does, answer its requests with msw as the entity page tests do.
const apiFetch = () => Promise.reject(new Error('{{page.pascal}}Page called the API; give this test msw handlers.'));

it('shows the {{page.lower}} page in the current tenant', () => {
  render(<{{page.pascal}}Page apiFetch={apiFetch} tenant="acme" />);
  expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('{{page.title}} in tenant acme');
});
