/** Structured logs (pino): one JSON line per event, tagged with pluginId/tenantId/requestId where known. */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** @default process.env.LOG_LEVEL ?? 'info' */
  level?: string;
}

export function createLogger({ level = process.env.LOG_LEVEL ?? 'info' }: LoggerOptions = {}): Logger {
  return pino({ level, base: { service: 'sandbox' } });
}
