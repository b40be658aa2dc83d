import { Link } from 'react-router-dom';
import { displayName, type ModuleNames } from '../module-names.ts';
import { appPath, isAllowed, manifestProblems, modules } from '../modules.ts';
import { ErrorMessage } from './ErrorMessage.tsx';

/** The loaded modules and their menu entries, including the ones this user may not open. */
export function Home({ permissions, names }: { permissions: readonly string[] | null; names: ModuleNames }) {
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
            <h2>{displayName(names, m.id)}</h2>
            {/* The id stays in sight: it is what URLs, permissions and the API paths are made of. */}
            <p className="shell-muted">
              <code>{m.id}</code> · {m.routes.length} route{m.routes.length === 1 ? '' : 's'}
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
