/**
 * In-process events between plugins. A plugin emits only `<its id>.<event>` and listens to any
 * plugin's (rules/event-name.ts); a bad name throws at the call. `emit` awaits every handler of the
 * name in registration order; one that throws is logged with the listener's id and stops nothing.
 * Emitted inside a tenant transaction, an event waits for the commit and is dropped on rollback
 * (scope.ts), so no handler ever reacts to a write that did not happen.
 */
import type { EventHandler, EventsCapability, PluginEvent } from '../contract.ts';
import type { Logger } from '../logger.ts';
import { emittedEventProblem, eventNameProblem } from '../../rules/index.ts';
import { afterTenantCommit } from '../data/tenancy.ts';
import { currentScope, inScope } from './scope.ts';

export interface EventBus {
  forPlugin(pluginId: string): EventsCapability;
}

export function createEventBus(logger: Logger): EventBus {
  const handlers = new Map<string, { pluginId: string; handler: EventHandler }[]>();

  async function deliver(event: PluginEvent): Promise<void> {
    // A copy: a handler registered while this event is delivered waits for the next one.
    for (const { pluginId, handler } of [...(handlers.get(event.name) ?? [])]) {
      try {
        await handler(event.payload, event);
      } catch (error) {
        logger.error({ err: error, event: event.name, pluginId, emittedBy: event.emittedBy, tenantId: event.tenantId }, `handler of event ${event.name} failed`);
      }
    }
  }

  return {
    forPlugin(pluginId) {
      return {
        on(name, handler) {
          const problem = eventNameProblem(name);
          if (problem) throw new TypeError(`Plugin "${pluginId}" listens to event ${JSON.stringify(name)}, which is not an event name: it ${problem}.`);
          if (typeof handler !== 'function') throw new TypeError(`Plugin "${pluginId}" listens to event "${name}" with a handler that is not a function.`);
          handlers.set(name, [...(handlers.get(name) ?? []), { pluginId, handler: handler as EventHandler }]);
        },
        // Not async: a bad name throws at the call, where the stack shows the plugin's line.
        emit(name, payload) {
          const problem = emittedEventProblem(pluginId, name);
          if (problem) throw new TypeError(`Plugin "${pluginId}" emits event ${JSON.stringify(name)}, which it may not: the name ${problem}.`);
          const event: PluginEvent = { name, payload, tenantId: currentScope().tenantId ?? null, emittedBy: pluginId };
          // After the commit, handlers still act in the emitter's tenant (their logs say so).
          if (afterTenantCommit(() => inScope({ tenantId: event.tenantId ?? undefined }, () => deliver(event)))) return Promise.resolve();
          return deliver(event);
        },
      };
    },
  };
}
