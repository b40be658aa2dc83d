import type { ModulePageProps } from 'create-foundation-module/client';

/** The overview page, at /app/<module id>/overview. Call the API through `apiFetch`. */
export default function OverviewPage({ tenant }: ModulePageProps) {
  return (
    <>
      <h1>Overview <small className="shell-muted">in tenant {tenant}</small></h1>
      <p className="shell-muted">Nothing here yet: edit client/src/pages/OverviewPage.tsx.</p>
    </>
  );
}
