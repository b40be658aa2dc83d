/**
 * Who a transaction acts for: the admin API's user, the CLI's operator. Set once where a command
 * or a request starts (`actAs`), it rides along every transaction opened inside it
 * (`beginStatement` adds it as `SET LOCAL foundation.*`), where the audit triggers read it
 * (operations/audit/audit-schema.ts). A change made without one (psql, a foundation's own code)
 * is still logged, under the database user.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';

export type ActorSource = 'api' | 'cli' | 'sandbox';

export interface TransactionActor {
  /** The user's email, the operator's name. */
  actor: string;
  source: ActorSource;
  /** The request's id (the API's `X-Request-Id`). */
  requestId?: string;
  /** Why, where the change asks for a reason (the kill switch). */
  reason?: string;
}

/** Longest actor, request id or reason kept. */
export const MAX_ACTOR_TEXT = 500;

const current = new AsyncLocalStorage<TransactionActor>();

/** Why `text` can't name an actor (or be a reason, a request id), or undefined when it can. */
export function actorTextProblem(text: string): string | undefined {
  if (text.trim() === '') return 'is empty';
  if (text.length > MAX_ACTOR_TEXT) return `is longer than ${MAX_ACTOR_TEXT} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'holds a control character (a newline, a tab, a NUL…)';
  if (/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) return 'holds an unpaired surrogate';
  return undefined;
}

/** Runs `work` with every transaction it opens acting for `who`. */
export function actAs<T>(who: TransactionActor, work: () => T): T {
  for (const [field, value] of Object.entries(who)) {
    const problem = typeof value === 'string' && field !== 'source' ? actorTextProblem(value) : undefined;
    if (problem) throw new TypeError(`The ${field} ${JSON.stringify(value.slice(0, 80))} ${problem}.`);
  }
  return current.run(who, work);
}

/** The actor of the work running now, if any. */
export function currentActor(): TransactionActor | undefined {
  return current.getStore();
}

/** `; SET LOCAL foundation.…` for the current actor, to follow a BEGIN; empty without one. */
export function actorStatements(client: pg.ClientBase): string {
  const who = current.getStore();
  if (!who) return '';
  const settings: [string, string | undefined][] = [
    ['foundation.actor', who.actor], ['foundation.source', who.source], ['foundation.request_id', who.requestId], ['foundation.reason', who.reason],
  ];
  return settings.filter(([, value]) => value !== undefined).map(([name, value]) => `; SET LOCAL ${name} = ${client.escapeLiteral(value!)}`).join('');
}
