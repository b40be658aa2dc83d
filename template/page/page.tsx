import type { ModulePageProps } from 'create-foundation-module/client';

/** The {{page.lower}} page, at /app/<module id>/{{page.kebab}}. Call the API through `apiFetch`. */
export default function {{page.pascal}}Page({ tenant }: ModulePageProps) {
  return (
    <>
      <h1>{{page.title}} <small className="shell-muted">in tenant {tenant}</small></h1>
      <p className="shell-muted">Nothing here yet: edit client/src/pages/{{page.pascal}}Page.tsx.</p>
    </>
  );
}
