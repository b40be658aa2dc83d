import { Route, Routes } from 'react-router-dom';
import { pluginsPage } from './admin-pages.ts';
import { useSession } from './identity.ts';
import { useModuleNames } from './module-names.ts';
import { modulePages } from './modules.ts';
import { Home } from './shell/Home.tsx';
import { Layout } from './shell/Layout.tsx';
import { ModulePageHost } from './shell/ModulePageHost.tsx';
import { NotFound } from './shell/NotFound.tsx';
import { PluginStatsPage } from './shell/PluginStatsPage.tsx';

export function App() {
  const session = useSession();
  const names = useModuleNames(session.identities);
  return (
    <Routes>
      <Route element={<Layout session={session} names={names} />}>
        <Route index element={<Home permissions={session.me?.permissions ?? null} names={names} />} />
        {modulePages.map((page) => (
          <Route key={page.path} path={page.path} element={<ModulePageHost page={page} session={session} />} />
        ))}
        <Route path={pluginsPage.path} element={<PluginStatsPage session={session} />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
