/**
 * What a plugin event may be called: `<plugin id>.<event>`, the event part lowercase words joined
 * by dots, e.g. `orders.placed`, `stock-ledger.entry.posted`. Namespaced by the plugin id, as
 * permissions are, so that the emitter of an event is known from its name: a plugin emits only
 * its own events, and may listen to any plugin's.
 */
import { pluginIdProblem } from './plugin-id.ts';

const EVENT_PART = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const MAX_LENGTH = 120;

/** Why `name` is not an event name of any plugin, or undefined when it is one. */
export function eventNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string (got ${name === null ? 'null' : typeof name})`;
  if (name.length > MAX_LENGTH) return `must be at most ${MAX_LENGTH} characters long (got ${name.length})`;
  const dot = name.indexOf('.');
  if (dot < 0) return 'must be "<plugin id>.<event>", e.g. "orders.placed"';
  if (pluginIdProblem(name.slice(0, dot))) return `must start with a plugin id and a dot, e.g. "orders.placed" ("${name.slice(0, dot)}" is not a plugin id)`;
  if (!EVENT_PART.test(name.slice(dot + 1))) {
    return 'must be "<plugin id>.<event>", the event lowercase words joined by dots, each starting with a letter (e.g. "orders.item-added")';
  }
  return undefined;
}

/** Why plugin `pluginId` may not emit `name`, or undefined when it may. */
export function emittedEventProblem(pluginId: string, name: unknown): string | undefined {
  const problem = eventNameProblem(name);
  if (problem) return problem;
  if (!(name as string).startsWith(`${pluginId}.`)) return `must be namespaced by the emitting plugin's id: "${pluginId}.<event>" (a plugin emits only its own events)`;
  return undefined;
}
