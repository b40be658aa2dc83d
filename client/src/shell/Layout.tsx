import { Link, Outlet } from 'react-router-dom';
import type { Session } from '../identity.ts';
import type { ModuleNames } from '../module-names.ts';
import { AdminMenu } from './AdminMenu.tsx';
import { ApiStarting } from './ApiStarting.tsx';
import { ErrorMessage } from './ErrorMessage.tsx';
import { IdentitySwitcher } from './IdentitySwitcher.tsx';
import { Menu } from './Menu.tsx';

/** Header with the switchers, menus (modules, then admin) on the left, the current page on the right. */
export function Layout({ session, names }: { session: Session; names: ModuleNames }) {
  return (
    <div className="shell">
      <header className="shell-header">
        <Link to="/" className="shell-brand">Foundation sandbox</Link>
        <IdentitySwitcher session={session} />
      </header>
      <aside className="shell-menu">
        <nav aria-label="Modules">
          <Menu permissions={session.me?.permissions ?? null} failed={session.error !== null} names={names} />
        </nav>
        <AdminMenu permissions={session.me?.permissions ?? null} />
      </aside>
      <main className="shell-content">
        {session.waiting !== null && <ApiStarting wait={session.waiting} onRetry={session.retry} />}
        {session.error !== null && <ErrorMessage error={session.error} onRetry={session.retry} />}
        <Outlet />
      </main>
    </div>
  );
}
