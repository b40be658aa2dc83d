import { NavLink } from 'react-router-dom';
import { adminPages } from '../admin-pages.ts';
import { isAllowed } from '../modules.ts';

/**
 * The shell's admin entries, apart from the modules' menu: they are the host's pages, not a
 * module's. Nothing at all (not even the heading) for a caller who may open none of them.
 */
export function AdminMenu({ permissions }: { permissions: readonly string[] | null }) {
  const allowed = adminPages.filter((page) => isAllowed(page.permission, permissions));
  if (allowed.length === 0) return null;
  return (
    <nav aria-label="Admin">
      <section>
        <h2>Admin</h2>
        <ul>
          {allowed.map((page) => (
            <li key={page.path}><NavLink to={page.path}>{page.label}</NavLink></li>
          ))}
        </ul>
      </section>
    </nav>
  );
}
