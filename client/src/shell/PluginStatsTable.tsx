import { STATUS_CLASSES, type PluginFigures } from '../plugin-stats.ts';

// Fixed 'en' formats: the rest of the shell is English, and a figure should read the same for
// every admin who compares screenshots.
const count = new Intl.NumberFormat('en');
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 2 });
const milliseconds = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

/** One row per plugin, in the API's order (the order the plugins were loaded). */
export function PluginStatsTable({ plugins }: { plugins: readonly PluginFigures[] }) {
  return (
    <table className="shell-stats">
      <thead>
        <tr>
          <th scope="col">Plugin</th>
          <th scope="col" className="shell-number">Requests</th>
          <th scope="col" className="shell-number">Errors (5xx)</th>
          <th scope="col" className="shell-number">Error rate</th>
          <th scope="col" className="shell-number">p95 (ms)</th>
          {STATUS_CLASSES.map((c) => <th key={c} scope="col" className="shell-number">{c}</th>)}
        </tr>
      </thead>
      <tbody>
        {plugins.map((p) => (
          <tr key={p.id}>
            <th scope="row"><code>{p.id}</code></th>
            <td className="shell-number">{count.format(p.requests)}</td>
            <td className="shell-number">{count.format(p.errors)}</td>
            <td className="shell-number">{percent.format(p.errorRate)}</td>
            {/* null: no request yet, so no duration to rank; a dash, not a misleading 0. */}
            <td className="shell-number">{p.p95Ms === null ? '–' : milliseconds.format(p.p95Ms)}</td>
            {STATUS_CLASSES.map((c) => <td key={c} className="shell-number">{count.format(p.statusClasses[c])}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
