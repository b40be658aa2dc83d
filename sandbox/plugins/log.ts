/**
 * `ctx.log`: the host's pino logger bound to one plugin. Each line carries `pluginId`, and the
 * `tenantId` and `requestId` of the scope it is written in (scope.ts), so a plugin never passes
 * them. Plugin fields can't forge the host's: pino would write a second `pluginId` (or `level`,
 * `msg`, `time`) after the real one, and most readers of JSON keep the last.
 */
import type { LogMeta, PluginLogger } from '../contract.ts';
import type { Logger } from '../logger.ts';
import { currentScope } from './scope.ts';

/** Keys pino or the host write themselves; a plugin's field of that name is kept as `meta.<key>`. */
const HOST_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'pluginId']);
/** The scope's own values win over a plugin's field of the same name (items logs `tenantId` itself). */
const SCOPE_KEYS = ['tenantId', 'requestId'] as const;
/** Longer messages are cut: one runaway string must not make a log line megabytes long. */
export const MAX_MESSAGE_LENGTH = 8_192;

type Level = 'debug' | 'info' | 'warn' | 'error';

export function createPluginLogger(logger: Logger, pluginId: string): PluginLogger {
  const bound = logger.child({ pluginId });
  const write = (level: Level) => (msg: string, meta?: LogMeta) => {
    if (!bound.isLevelEnabled(level)) return;
    bound[level](fields(meta), message(msg));
  };
  return Object.assign(write('info'), { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') });
}

function message(msg: unknown): string {
  const text = typeof msg === 'string' ? msg : String(msg);
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}… [${text.length - MAX_MESSAGE_LENGTH} more characters cut]` : text;
}

function fields(meta: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (meta instanceof Error) out.err = meta;
  else if (Array.isArray(meta) || (meta !== null && meta !== undefined && typeof meta !== 'object')) out.meta = meta;
  else if (meta) {
    for (const [key, value] of Object.entries(meta)) {
      // defineProperty: a `__proto__` field (from JSON.parse) stays a field, never a prototype.
      Object.defineProperty(out, HOST_KEYS.has(key) ? `meta.${key}` : key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  const scope = currentScope();
  for (const key of SCOPE_KEYS) if (scope[key] !== undefined) out[key] = scope[key];
  return out;
}
