import { Link } from 'react-router-dom';
import { appPath, isAllowed, manifestProblems, modules } from '../modules.ts';
import { ErrorMessage } from './ErrorMessage.tsx';

/** The loaded modules and their menu entries, including the ones this user may not open. */
export function Home({ permissions }: { permissions: readonly string[] | null }) {
  return (
    <>
      <h1>Loaded modules</h1>
      {manifestProblems.map((problem) => <ErrorMessage key={problem} error={problem} />)}
      {modules.length === 0 && (
        <p>No modules loaded. Run <code>foundation-module dev &lt;module dir&gt;</code> to load one.</p>
      )}
      <ul className="shell-modules">
        {modules.map((m) => (
          <li key={m.id}>
            <h2>{m.id}</h2>
            <p className="shell-muted">
              {m.routes.length} route{m.routes.length === 1 ? '' : 's'}
              {m.widgets?.length ? `, ${m.widgets.length} widget${m.widgets.length === 1 ? '' : 's'}` : ''}
            </p>
            <ul>
              {m.menu.map((entry) => (
                <li key={entry.to}>
                  <Link to={appPath(m.id, entry.to)}>{entry.label}</Link>
                  {!isAllowed(entry.permission, permissions) && (
                    <span className="shell-muted"> (needs {entry.permission})</span>
                  )}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </>
  );
}
