/** Structured logs (pino): one JSON line per event, tagged with pluginId/tenantId/requestId where known. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** @default process.env.LOG_LEVEL ?? 'info' */
  level?: string;
  /**
   * Where the JSON lines go. Tests pass a stream to read what was logged; a foundation may pass
   * `pino.destination(path)` or a transport.
   * @default stdout
   */
  destination?: DestinationStream;
}

export function createLogger({ level = process.env.LOG_LEVEL ?? 'info', destination }: LoggerOptions = {}): Logger {
  const options = { level, base: { service: 'sandbox' } };
  return destination ? pino(options, destination) : pino(options);
}
