/**
 * What `foundation-module migrate` shows: a progress bar on a terminal (cli-progress), one JSON
 * object per line with `--json` (for CI and log pipelines), plain lines otherwise; then a summary
 * table, the failures, and how to resume.
 */
import { SingleBar } from 'cli-progress';
import type { MigrationPlan, TargetWork } from '../../operations/migrations/plan.ts';
import { describeTarget } from '../../operations/migrations/plan.ts';
import type { RunEvent, RunReport, TargetResult } from '../../operations/migrations/runner.ts';

export interface OutputOptions {
  json: boolean;
  /** Draw a progress bar (stderr is a terminal and not --json). */
  tty: boolean;
  write: (line: string) => void;
}

export interface MigrateOutput {
  onEvent(event: RunEvent): void;
  finish(report: RunReport): void;
}

export function createOutput({ json, tty, write }: OutputOptions): MigrateOutput {
  let bar: SingleBar | undefined;
  let failed = 0;
  return {
    onEvent(event) {
      if (json) return write(JSON.stringify(jsonEvent(event)));
      if (event.type === 'planned') {
        const { plan, runnable, concurrency } = event;
        write(`${plan.direction === 'up' ? 'Applying' : 'Undoing'} migrations: ${runnable} target(s) to do, ${plan.upToDate} up to date, ${plan.work.length - runnable} blocked` +
          uninstalledNote(plan) + (runnable > 0 ? `, ${concurrency} at a time` : '') + '.');
        if (tty && runnable > 0) {
          bar = new SingleBar({ format: '  {bar} {value}/{total} targets | {failed} failed | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, etaBuffer: 50 });
          bar.start(runnable, 0, { failed: 0 });
        }
      } else if (event.type === 'target') {
        if (event.outcome.state !== 'done') failed += 1;
        if (bar) bar.update(event.done, { failed });
        else if (event.outcome.state !== 'done') write(`  ${event.outcome.state.toUpperCase()} ${event.work.module.id} ${describeTarget(event.work.target)}: ${event.outcome.error}`);
      } else if (event.type === 'started' && !bar) {
        write(`  run ${event.runId} (to continue it if stopped: --resume ${event.runId})`);
      } else if (event.type === 'wave' && !bar) {
        write(`  wave ${event.wave} of ${event.waves}`);
      }
    },
    finish(report) {
      bar?.stop();
      if (json) return write(JSON.stringify({ event: 'summary', ...summaryOf(report) }));
      for (const line of summaryLines(report)) write(line);
    },
  };
}

function jsonEvent(event: RunEvent): Record<string, unknown> {
  if (event.type === 'planned') {
    return {
      event: 'planned', direction: event.plan.direction, runnable: event.runnable, upToDate: event.plan.upToDate, uninstalled: event.plan.uninstalled, concurrency: event.concurrency,
      blocked: event.plan.work.filter((w) => w.blocked).map(targetJson),
    };
  }
  if (event.type === 'wave') return { event: 'wave', wave: event.wave, waves: event.waves };
  if (event.type === 'started') return { event: 'started', runId: event.runId };
  return { event: 'target', ...resultJson(event), done: event.done, total: event.total };
}

function targetJson(work: TargetWork): Record<string, unknown> {
  return {
    plugin: work.module.id, scope: work.target.scope, tenant: work.target.tenantCode, schema: work.target.schema,
    files: work.files.map((f) => f.name), ...(work.blocked ? { blocked: work.blocked.reason, message: work.blocked.message } : {}),
  };
}

function resultJson({ work, outcome, quarantined }: TargetResult): Record<string, unknown> {
  return {
    plugin: work.module.id, scope: work.target.scope, tenant: work.target.tenantCode, schema: work.target.schema,
    state: outcome.state, applied: outcome.applied,
    ...(outcome.state !== 'done' ? { file: outcome.file, sqlState: outcome.sqlState, error: outcome.error, ...(outcome.statement ? { statement: outcome.statement } : {}) } : {}),
    ...(quarantined ? { quarantined } : {}),
  };
}

export function summaryOf(report: RunReport): Record<string, unknown> {
  const count = (state: string) => report.results.filter((r) => r.outcome.state === state).length;
  return {
    runId: report.runId, direction: report.plan.direction, exitCode: report.exitCode, elapsedMs: Math.round(report.elapsedMs),
    done: count('done'), failed: count('failed'), locked: count('locked'), blocked: report.blocked.length,
    quarantined: report.results.filter((r) => r.quarantined).length + report.blocked.filter((w) => w.blocked!.reason === 'quarantined').length,
    upToDate: report.plan.upToDate, uninstalled: report.plan.uninstalled, notStarted: report.notStarted,
    applied: report.results.reduce((n, r) => n + r.outcome.applied.length, 0),
    failures: report.results.filter((r) => r.outcome.state !== 'done').map(resultJson),
    retired: report.retired,
    blockedTargets: report.blocked.map(targetJson),
  };
}

function summaryLines(report: RunReport): string[] {
  const lines: string[] = [];
  const plugins = [...new Set([...report.results.map((r) => r.work.module.id), ...report.blocked.map((w) => w.module.id)])].sort();
  const seconds = (report.elapsedMs / 1000).toFixed(1);
  if (plugins.length === 0) {
    lines.push(`Nothing to do: every target is up to date (${report.plan.upToDate} checked in ${seconds} s).`);
    return lines;
  }
  lines.push(report.runId === null
    ? `Nothing ran (${report.plan.direction}): every target with something to do is blocked (${seconds} s).`
    : `Run ${report.runId} (${report.plan.direction}) in ${seconds} s:`);
  const rows = plugins.map((id) => {
    const of = (state: string) => report.results.filter((r) => r.work.module.id === id && r.outcome.state === state).length;
    const files = report.results.filter((r) => r.work.module.id === id).reduce((n, r) => n + r.outcome.applied.length, 0);
    return [id, String(of('done')), String(files), String(of('failed')), String(of('locked')), String(report.blocked.filter((w) => w.module.id === id).length)];
  });
  lines.push(...table([[`plugin`, 'targets done', report.plan.direction === 'up' ? 'files applied' : 'files undone', 'failed', 'locked', 'blocked'], ...rows]));
  const problems = [
    ...report.results.filter((r) => r.outcome.state !== 'done').map((r) => (r.outcome.state !== 'done' ? `  ${r.outcome.state}: ${r.outcome.error}${r.outcome.sqlState ? ` [SQLSTATE ${r.outcome.sqlState}]` : ''}${r.quarantined ? ' (now quarantined)' : ''}` : '')),
    ...report.blocked.map((w) => `  ${w.blocked!.reason}: ${w.blocked!.message}`),
  ];
  if (problems.length > 0) lines.push('Problems:', ...problems.slice(0, 50), ...(problems.length > 50 ? [`  … and ${problems.length - 50} more (--json lists them all)`] : []));
  for (const { pluginId, tenants, everywhere } of report.retired) {
    const where = tenants.length > 0 ? `switched off in tenant(s) ${tenants.slice(0, 8).join(', ')}${tenants.length > 8 ? `, … (${tenants.length})` : ''}` : 'marked not installed';
    lines.push(`${pluginId} is now ${where}: none of its migrations is applied there${everywhere ? ' (nor anywhere else)' : ''}, so its routes answer 403 PLUGIN_DISABLED. ` +
      `To bring it back: foundation-module plugins enable ${pluginId}${tenants.length > 0 ? ` --tenant ${tenants[0]}${tenants.length > 1 ? ' …' : ''}` : ''}`);
  }
  if (report.notStarted > 0 || report.results.some((r) => r.outcome.state !== 'done')) {
    lines.push(`What is left runs again with: foundation-module migrate ${report.plan.direction} --resume ${report.runId}`);
  }
  return lines;
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => `  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}`);
}

/** Tenants where a plugin was uninstalled are left alone, and said so. */
function uninstalledNote(plan: MigrationPlan): string {
  return plan.uninstalled > 0 ? `, ${plan.uninstalled} left alone (plugin uninstalled there; \`plugins enable --tenant\` installs it again)` : '';
}

/** `status` and `up --dry-run`: the plan, per plugin and file, with the SQL when asked. */
export function planLines(plan: MigrationPlan, { sql }: { sql: boolean }): string[] {
  const lines: string[] = [];
  const runnable = plan.work.filter((w) => !w.blocked);
  lines.push(`${plan.tenants.length} tenant(s) and the public schema; ${plan.upToDate} target(s) up to date, ${runnable.length} with something to ${plan.direction === 'up' ? 'apply' : 'undo'}, ${plan.work.length - runnable.length} blocked${uninstalledNote(plan)}.`);
  const byFile = new Map<string, { plugin: string; scope: string; file: TargetWork['files'][number]; targets: string[] }>();
  for (const w of runnable) {
    for (const file of w.files) {
      const key = `${w.module.id}/${w.target.scope}/${file.name}`;
      const entry = byFile.get(key) ?? { plugin: w.module.id, scope: w.target.scope, file, targets: [] };
      entry.targets.push(w.target.tenantCode ?? 'public');
      byFile.set(key, entry);
    }
  }
  for (const { plugin, scope, file, targets } of byFile.values()) {
    const shown = targets.length > 8 ? `${targets.slice(0, 8).join(', ')}, … (${targets.length})` : targets.join(', ');
    lines.push(`${plan.direction === 'up' ? 'APPLY' : 'UNDO'} ${plugin} ${scope}/${file.name}${file.noTransaction ? ' (no transaction)' : ''} in ${shown}`);
    if (sql) lines.push(...(plan.direction === 'up' ? file.sql : file.down ?? '').trimEnd().split('\n').map((l) => `    ${l}`.trimEnd()));
  }
  for (const w of plan.work.filter((x) => x.blocked)) lines.push(`BLOCKED (${w.blocked!.reason}) ${w.module.id} ${describeTarget(w.target)}: ${w.blocked!.message}`);
  for (const e of plan.empty) lines.push(`EMPTY ${e.pluginId} ${e.scope}/${e.name} has no statement yet: it (and any file after it) waits in ${e.targets} target(s) until it has one`);
  for (const u of plan.unknownApplied) lines.push(`UNKNOWN ${u.pluginId} ${u.scope}/${u.name} ran in ${u.targets} target(s) but is not in the module any more`);
  return lines;
}
