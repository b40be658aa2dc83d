import { NavLink } from 'react-router-dom';
import { displayName, type ModuleNames } from '../module-names.ts';
import { appPath, isAllowed, modules } from '../modules.ts';

interface Group { title: string; links: { to: string; label: string }[] }

/** Entries grouped by `section` (default: the module's name), hiding those the user may not use. */
function menuGroups(permissions: readonly string[] | null, names: ModuleNames): Group[] {
  const groups = new Map<string, Group>();
  for (const m of modules) {
    for (const entry of m.menu) {
      if (!isAllowed(entry.permission, permissions)) continue;
      const title = entry.section ?? displayName(names, m.id);
      const group = groups.get(title) ?? { title, links: [] };
      group.links.push({ to: appPath(m.id, entry.to), label: entry.label });
      groups.set(title, group);
    }
  }
  return [...groups.values()];
}

/** `permissions` null: not known (yet), so entries that need one stay hidden. */
export function Menu({ permissions, failed, names }: { permissions: readonly string[] | null; failed: boolean; names: ModuleNames }) {
  const groups = menuGroups(permissions, names);
  if (groups.length === 0) {
    const why = permissions ? 'Nothing in the menu for this user.' : failed ? 'Menu unavailable.' : 'Loading menu…';
    return <p className="shell-muted">{why}</p>;
  }
  return (
    <>
      {groups.map((group) => (
        <section key={group.title}>
          <h2>{group.title}</h2>
          <ul>
            {group.links.map((link) => (
              <li key={link.to}><NavLink to={link.to}>{link.label}</NavLink></li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}
