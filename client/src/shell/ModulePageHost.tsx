import { Suspense } from 'react';
import type { Session } from '../identity.ts';
import type { ModulePage } from '../modules.ts';
import { PageErrorBoundary } from './PageErrorBoundary.tsx';

/**
 * Mounts a module page with the shell's `apiFetch` and tenant. Keyed by identity, so switching
 * tenant or user starts the page afresh instead of showing the previous user's data.
 */
export function ModulePageHost({ page, session }: { page: ModulePage; session: Session }) {
  const { identity, apiFetch } = session;
  if (!identity) return <p className="shell-muted">Waiting for the sandbox identities…</p>;

  const { Page } = page;
  const key = `${page.path}|${identity.tenant}|${identity.user}`;
  return (
    <PageErrorBoundary key={key} moduleId={page.moduleId}>
      <Suspense fallback={<p className="shell-muted">Loading page…</p>}>
        <Page apiFetch={apiFetch} tenant={identity.tenant} />
      </Suspense>
    </PageErrorBoundary>
  );
}
