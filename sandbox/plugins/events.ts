/** In-process events between plugins: `emit` awaits every handler; one that throws is logged, not fatal. */
import type { EventsCapability } from '../contract.ts';
import type { Logger } from '../logger.ts';

type Handler = (payload: unknown) => Promise<void> | void;

export interface EventBus {
  forPlugin(pluginId: string): EventsCapability;
}

export function createEventBus(logger: Logger): EventBus {
  const handlers = new Map<string, { pluginId: string; handler: Handler }[]>();
  return {
    forPlugin(pluginId) {
      return {
        on(name, handler) {
          handlers.set(name, [...(handlers.get(name) ?? []), { pluginId, handler }]);
        },
        async emit(name, payload) {
          for (const { pluginId: listener, handler } of handlers.get(name) ?? []) {
            try {
              await handler(payload);
            } catch (error) {
              logger.error({ err: error, event: name, pluginId: listener, emittedBy: pluginId }, 'event handler failed');
            }
          }
        },
      };
    },
  };
}
