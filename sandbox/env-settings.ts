/**
 * The environment variables the sandbox reads, each the default of one option of `createSandbox`
 * (an option passed in code wins). docs/sandbox.md lists them. A value that can't be read stops
 * the start with a message naming the variable, rather than being silently ignored.
 */
import { pluginIdProblem } from '../rules/index.ts';
import { DEFAULT_HEARTBEAT, type HeartbeatSettings } from './data/listener-heartbeat.ts';
import { SandboxStartError } from './errors.ts';

type Env = Record<string, string | undefined>;

/**
 * Whether dev identity is on: dev headers, `/api/sandbox/*`, the built-in token secret.
 * `SANDBOX_DEV_IDENTITY=on|off` decides; without it, `NODE_ENV=production` turns it off.
 */
export function devIdentityFromEnv(env: Env = process.env): boolean {
  return switchFromEnv('SANDBOX_DEV_IDENTITY', env.NODE_ENV !== 'production', env);
}

/** Whether `GET /metrics` is served: `SANDBOX_METRICS=on|off`, on by default (docs/observability.md). */
export function metricsFromEnv(env: Env = process.env): boolean {
  return switchFromEnv('SANDBOX_METRICS', true, env);
}

/** An on/off setting: `fallback` when unset or empty; anything but on/off (or their synonyms) refuses the start. */
function switchFromEnv(name: string, fallback: boolean, env: Env): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (['on', 'true', '1', 'yes'].includes(value)) return true;
  if (['off', 'false', '0', 'no'].includes(value)) return false;
  throw new SandboxStartError(`${name} must be "on" or "off" (got ${JSON.stringify(env[name])}).`);
}

/** A whole number of milliseconds (or connections) from `name`, else `fallback`. 0 means "no limit" where PostgreSQL says so. */
export function integerFromEnv(name: string, fallback: number, { min = 0, env = process.env }: { min?: number; env?: Env } = {}): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new SandboxStartError(`${name} must be a whole number of at least ${min} (got ${JSON.stringify(env[name])}).`);
  }
  return value;
}

/**
 * The change listener's heartbeat (data/listener-heartbeat.ts): a round trip every
 * `SANDBOX_LISTENER_HEARTBEAT_MS` (default 1000), and `SANDBOX_LISTENER_HEARTBEAT_TIMEOUT_MS`
 * (default 2000) for its answer before the connection counts as lost. Their sum bounds how long
 * a silent listener goes unnoticed.
 */
export function listenerHeartbeatFromEnv(env: Env = process.env): HeartbeatSettings {
  return {
    intervalMs: integerFromEnv('SANDBOX_LISTENER_HEARTBEAT_MS', DEFAULT_HEARTBEAT.intervalMs, { min: 1, env }),
    timeoutMs: integerFromEnv('SANDBOX_LISTENER_HEARTBEAT_TIMEOUT_MS', DEFAULT_HEARTBEAT.timeoutMs, { min: 1, env }),
  };
}

/** Which browser origins may call the API: `loopback` (the default), or exact origins. */
export type CorsOrigins = 'loopback' | readonly string[];

/**
 * `SANDBOX_CORS_ORIGINS`: `loopback`, or a comma-separated list of exact origins such as
 * `http://localhost:5173,https://shell.example.test`. Each origin is scheme, host and optional port.
 */
export function corsOriginsFromEnv(env: Env = process.env): CorsOrigins {
  const raw = env.SANDBOX_CORS_ORIGINS?.trim();
  if (!raw || raw === 'loopback') return 'loopback';
  return raw.split(',').map((part) => {
    const origin = part.trim();
    if (!isOrigin(origin)) {
      throw new SandboxStartError(`SANDBOX_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin; give scheme://host[:port] with nothing after it, e.g. http://localhost:5173, or "loopback".`);
    }
    return origin;
  });
}

/** Whether `text` is exactly an http(s) origin, as a browser sends it in `Origin`. */
export function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}

/**
 * `FOUNDATION_DISABLED_PLUGINS`: plugin ids, separated by commas, that this process treats as
 * switched off globally whatever the database says: a kill switch for when the database can't or
 * shouldn't be written. A value that is not such a list refuses the start, since a kill switch
 * silently ignored would leave the plugin on.
 */
export function disabledPluginsFromEnv(env: Env = process.env): string[] {
  const raw = env.FOUNDATION_DISABLED_PLUGINS;
  if (raw === undefined || raw.trim() === '') return [];
  return checkedPluginIds(raw.split(',').map((part) => part.trim()), 'FOUNDATION_DISABLED_PLUGINS');
}

/** `ids` when each is a plugin id; else a start error naming `source` and the first bad id. */
export function checkedPluginIds(ids: readonly string[], source: string): string[] {
  for (const id of ids) {
    const problem = pluginIdProblem(id);
    if (problem) {
      throw new SandboxStartError(`${source}: ${JSON.stringify(id)} is not a plugin id: it ${problem}. Give plugin ids separated by commas, e.g. FOUNDATION_DISABLED_PLUGINS=items,warehouse.`);
    }
  }
  return [...new Set(ids)];
}
