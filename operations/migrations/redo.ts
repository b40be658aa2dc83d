/**
 * In the sandbox, editing your newest migration is how you write it: a file changed after the
 * sandbox applied it is undone with its `.down.sql` (and so is every file applied after it, newest
 * first), then the plan runs again and applies the new text. Only the sandbox's bootstrap asks for
 * this; the operator commands and a foundation keep refusing a changed file, where it is drift.
 */
import type pg from 'pg';
import { undoTarget, type ApplyOptions } from './apply.ts';
import { hasDown } from './file-check.ts';
import type { MigrationFile } from './files.ts';
import { recordedChecksum } from './ledger.ts';
import { describeTarget, type MigrationPlan, type TargetWork } from './plan.ts';

export interface RedoReport {
  /** What was undone, to be applied again: one sentence per target. */
  redone: string[];
  /** Targets that could not be undone (no down file, or the down file failed), by `targetKey`: why, and what to do. */
  refused: Map<string, string>;
}

/** Undoes the changed files of the plan's `changed` targets, so that the next plan applies them again. */
export async function undoChangedFiles(pool: pg.Pool, plan: MigrationPlan, options: ApplyOptions): Promise<RedoReport> {
  const report: RedoReport = { redone: [], refused: new Map() };
  for (const work of plan.work.filter((w) => w.blocked?.reason === 'changed')) {
    const undo = await appliedFrom(pool, work);
    const name = (file: MigrationFile) => `${work.target.scope}/${file.name}`;
    const where = describeTarget(work.target);
    const noDown = undo.find((file) => !hasDown(file, work.target.scope));
    if (noDown) {
      const down = noDown.name.replace(/\.sql$/, '.down.sql');
      report.refused.set(targetKey(work), `${work.blocked!.message.replace(/ Restore the file.*$/, '')} It can't be undone and applied again: ${name(noDown)} has no ${down}${noDown.down === undefined ? '' : ' with a statement in it (only comments)'}. ` +
        'Write one (the sandbox then undoes the old text with it and applies the new), restore the file, or stop dev and rm -rf .sandbox to start from empty data.');
      continue;
    }
    const client = await pool.connect();
    let failed = false;
    try {
      const outcome = await undoTarget(client, { ...work, files: undo, blocked: undefined }, options);
      if (outcome.state !== 'done') {
        failed = true;
        report.refused.set(targetKey(work), `${outcome.error} The sandbox tried to undo it because ${name(work.blocked!.changed![0]!)} changed after it ran; fix the .down.sql, restore the file, or stop dev and rm -rf .sandbox.`);
      } else {
        report.redone.push(`${work.module.id} ${undo.map(name).reverse().join(', ')} changed after the sandbox applied ${undo.length === 1 ? 'it' : 'them'} in ${where}: undone with the .down.sql and applied again.`);
      }
    } finally {
      client.release(failed);
    }
  }
  return report;
}

export function targetKey(work: TargetWork): string {
  return `${work.module.id}/${work.target.schema}`;
}

/** The first changed file and every file applied after it, newest first (undo's order). */
async function appliedFrom(pool: pg.Pool, work: TargetWork): Promise<MigrationFile[]> {
  const first = work.blocked!.changed![0]!.number;
  const later = work.module.files[work.target.scope].filter((f) => f.number >= first).sort((a, b) => b.number - a.number);
  const applied: MigrationFile[] = [];
  for (const file of later) {
    const key = { pluginId: work.module.id, scope: work.target.scope, tenantId: work.target.tenantId, name: file.name };
    if ((await recordedChecksum(pool, key)) !== null) applied.push(file);
  }
  return applied;
}
