import { describeApiMessage, type ApiFetch } from '../api.ts';
import type { Session } from '../identity.ts';
import { usePluginStats, type PluginStats } from '../plugin-stats.ts';
import { ErrorMessage } from './ErrorMessage.tsx';
import { PluginStatsTable } from './PluginStatsTable.tsx';

/**
 * Admin page: the API's per-plugin figures. Keyed by identity, as module pages are: switching
 * tenant or user asks again as the new caller instead of showing what the previous one may see.
 */
export function PluginStatsPage({ session }: { session: Session }) {
  const { identity, apiFetch } = session;
  if (!identity) return <p className="shell-muted">Waiting for the sandbox identities…</p>;
  return <PluginStatsView key={`${identity.tenant}|${identity.user}`} apiFetch={apiFetch} />;
}

function PluginStatsView({ apiFetch }: { apiFetch: ApiFetch }) {
  const { state, refresh } = usePluginStats(apiFetch);
  const busy = state.status === 'loading' || (state.status === 'loaded' && state.refreshing);
  return (
    <>
      <div className="shell-toolbar">
        <h1>Plugins</h1>
        <button type="button" onClick={refresh} disabled={busy}>{busy ? 'Refreshing…' : 'Refresh'}</button>
      </div>
      {state.status === 'loading' && <p className="shell-muted">Loading figures…</p>}
      {/* The API's own words: its 403 names the permission and the tenant, which tells an admin what to grant where. */}
      {state.status === 'failed' && <ErrorMessage error={describeApiMessage(state.error)} onRetry={refresh} />}
      {state.status === 'loaded' && <PluginStatsBody stats={state.stats} />}
    </>
  );
}

function PluginStatsBody({ stats }: { stats: PluginStats }) {
  const since = <time dateTime={stats.since}>{new Date(stats.since).toLocaleString()}</time>;
  if (stats.plugins.length === 0) return <p>No plugins are loaded.</p>;
  if (stats.plugins.every((p) => p.requests === 0)) {
    return <p>No plugin has had a request since {since}. Open a module page, then refresh.</p>;
  }
  return (
    <>
      {/* Said on the page because dev restarts the API on every module edit, zeroing the counts. */}
      <p className="shell-muted">
        Counted by this API process since {since}; p95 over each plugin's last {stats.p95Window} requests.
      </p>
      <PluginStatsTable plugins={stats.plugins} />
    </>
  );
}
