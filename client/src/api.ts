/**
 * The shell's side of talking to the API: the identity-carrying `apiFetch` handed to pages, and
 * the translation of the API's error envelope `{ error: { code, message, requestId, … } }` into
 * an Error whose message a person can act on.
 */
import type { ModulePageProps } from '../contract.ts';
import type { Identity } from './identity.ts';

export type ApiFetch = ModulePageProps['apiFetch'];

/** An error answer of the API, envelope fields kept for code that wants to branch on them. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  /** Everything else the envelope carried (`permission`, `field`, `pluginId`, …). */
  readonly details: Record<string, unknown>;
  /**
   * The envelope's `message` as the API wrote it ('' without one). `message` may be the shell's
   * rewording (FORBIDDEN becomes "You don't have permission …"); views where the API's own
   * wording says more (it names the tenant) show this instead, see `describeApiMessage`.
   */
  readonly apiMessage: string;

  constructor(status: number, code: string, message: string, requestId?: string, details: Record<string, unknown> = {}, apiMessage = '') {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
    this.apiMessage = apiMessage;
  }
}

function unreachableMessage(): string {
  return `API not reachable at ${import.meta.env.FOUNDATION_API_URL}: is \`npm run dev\` running?`;
}

/** The request never reached the API (network failure): nothing answered, so it may be worth trying again. */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
}

/**
 * Whether `error` says the API did not answer at all (a network failure, or the dev proxy's 502
 * while the API starts or restarts), rather than answering with an error.
 */
export function isApiUnreachable(error: unknown): boolean {
  return error instanceof ApiUnreachableError || (error instanceof ApiError && error.code === 'API_UNREACHABLE');
}

/**
 * `fetch` with the dev identity headers. A network failure rejects with a readable Error rather
 * than the browser's bare "Failed to fetch".
 */
export function createApiFetch(identity: Identity | null): ApiFetch {
  return async (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (identity) {
      headers.set('X-Tenant-Id', identity.tenant);
      headers.set('X-User-Id', identity.user);
    }
    try {
      return await fetch(path, { ...init, headers });
    } catch (cause) {
      throw new ApiUnreachableError(unreachableMessage(), { cause });
    }
  };
}

/** "request 1a2b3c4d…": enough to find the log line, short enough to read. */
function requestRef(requestId: unknown): string {
  if (typeof requestId !== 'string' || requestId === '') return '';
  return `, request ${requestId.length > 8 ? `${requestId.slice(0, 8)}…` : requestId}`;
}

function readableMessage(code: string, message: string, details: Record<string, unknown>): string {
  if (code === 'FORBIDDEN' && typeof details.permission === 'string') {
    return `You don't have permission ${details.permission}`;
  }
  return message || code;
}

/** The Error a non-2xx response stands for; never throws itself. */
export async function readApiError(res: Response): Promise<Error> {
  const body: unknown = await res.json().catch(() => undefined);
  const envelope = (body as { error?: unknown } | undefined)?.error;
  if (envelope && typeof envelope === 'object') {
    const { code, message, requestId, ...details } = envelope as Record<string, unknown>;
    const codeText = typeof code === 'string' ? code : `HTTP_${res.status}`;
    const apiMessage = typeof message === 'string' ? message : '';
    const text = readableMessage(codeText, apiMessage, details);
    const reqId = typeof requestId === 'string' ? requestId : undefined;
    return new ApiError(res.status, codeText, `${text} (${codeText}${requestRef(reqId)})`, reqId, details, apiMessage);
  }
  // No envelope: the answer came from something other than the API (a proxy, a dev server).
  if (res.status >= 502 && res.status <= 504) return new ApiError(res.status, 'API_UNREACHABLE', unreachableMessage());
  return new ApiError(res.status, `HTTP_${res.status}`, `Unexpected answer from the API: HTTP ${res.status} ${res.statusText} for ${res.url}`);
}

/** GET (or any method) a JSON endpoint of the API; non-2xx answers reject with `readApiError`. */
export async function apiJson<T>(apiFetch: ApiFetch, path: string, init?: RequestInit): Promise<T> {
  const res = await apiFetch(path, init);
  if (!res.ok) throw await readApiError(res);
  return (await res.json()) as T;
}

/**
 * Like `describeError`, but an API error reads in the API's own words, code and request kept:
 * "You lack the permission admin.plugins.read in tenant acme. (FORBIDDEN, request 1a2b3c4d…)".
 * Answers without an envelope (network failure, a proxy's 502) read as `describeError` has them.
 */
export function describeApiMessage(error: unknown): string {
  if (error instanceof ApiError && error.apiMessage !== '') return `${error.apiMessage} (${error.code}${requestRef(error.requestId)})`;
  return describeError(error);
}

/** Text for anything caught: our Errors already read well, the rest is stringified. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
