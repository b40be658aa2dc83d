/**
 * Who the shell acts as: a dev tenant and a dev user, chosen in the header, remembered in
 * localStorage, and sent by `apiFetch` on every request. The sandbox trusts these headers; the
 * foundation replaces them with real authentication.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { apiJson, createApiFetch, type ApiFetch } from './api.ts';
import { untilApiAnswers, type ApiWait } from './api-wait.ts';

export interface Tenant { id: string; code: string; name: string }
export interface User { id: string; email: string; name: string }

/** `GET /api/sandbox/identities`; `defaults` is who the docs' examples act as (the dev admin in `dev`). */
export interface Identities { tenants: Tenant[]; users: User[]; defaults?: Partial<Identity> }

/** `GET /api/sandbox/me` */
export interface Me { tenant: Tenant; user: User; permissions: string[] }

/** What the shell sends: tenant code as `X-Tenant-Id`, user email as `X-User-Id`. */
export interface Identity { tenant: string; user: string }

const STORAGE_KEY = 'foundation-shell.identity';

function storedIdentity(): Partial<Identity> {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}');
    return value && typeof value === 'object' ? (value as Partial<Identity>) : {};
  } catch {
    return {};
  }
}

function storeIdentity(identity: Identity): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(identity));
  } catch {
    // Storage may be off (private mode); the choice then lasts until reload, which is fine.
  }
}

/**
 * Tenant and user each: the remembered one while the sandbox still has it, else the API's
 * default (so a new author lands where the README's curl examples act), else the first listed.
 */
function pickIdentity(stored: Partial<Identity>, { tenants, users, defaults }: Identities): Identity | null {
  const tenant = tenants.find((t) => t.code === stored.tenant) ?? tenants.find((t) => t.code === defaults?.tenant) ?? tenants[0];
  const user = users.find((u) => u.email === stored.user) ?? users.find((u) => u.email === defaults?.user) ?? users[0];
  return tenant && user ? { tenant: tenant.code, user: user.email } : null;
}

export interface Session {
  identities: Identities | null;
  identity: Identity | null;
  me: Me | null;
  /** `apiFetch` bound to the current identity (a new function when it changes). */
  apiFetch: ApiFetch;
  /** Last failure to load identities or `me`, if any. */
  error: unknown;
  /** Set while the API does not answer at all (starting, or restarting): the loads try again by themselves. */
  waiting: ApiWait | null;
  choose(change: Partial<Identity>): void;
  /** Try again after an error (e.g. the API came up after the shell). */
  retry(): void;
}

export function useSession(): Session {
  const [identities, setIdentities] = useState<Identities | null>(null);
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [waitingForIdentities, setWaitingForIdentities] = useState<ApiWait | null>(null);
  const [waitingForMe, setWaitingForMe] = useState<ApiWait | null>(null);
  const apiFetch = useMemo(() => createApiFetch(identity), [identity]);

  useEffect(() => {
    const stop = new AbortController();
    untilApiAnswers(() => apiJson<Identities>(createApiFetch(null), '/api/sandbox/identities'), { signal: stop.signal, onWaiting: setWaitingForIdentities }).then(
      (loaded) => {
        if (stop.signal.aborted) return;
        setWaitingForIdentities(null);
        setIdentities(loaded);
        setIdentity((chosen) => pickIdentity(chosen ?? storedIdentity(), loaded));
      },
      (err: unknown) => {
        if (stop.signal.aborted) return;
        setWaitingForIdentities(null);
        setError(err);
      },
    );
    return () => stop.abort();
  }, [attempt]);

  useEffect(() => {
    if (!identity) return;
    const stop = new AbortController();
    storeIdentity(identity);
    setMe(null);
    untilApiAnswers(() => apiJson<Me>(apiFetch, '/api/sandbox/me'), { signal: stop.signal, onWaiting: setWaitingForMe }).then(
      (loaded) => {
        if (stop.signal.aborted) return;
        setWaitingForMe(null);
        setMe(loaded);
        setError(null);
      },
      (err: unknown) => {
        if (stop.signal.aborted) return;
        setWaitingForMe(null);
        setError(err);
      },
    );
    return () => {
      stop.abort();
      setWaitingForMe(null);
    };
  }, [identity, apiFetch, attempt]);

  const choose = useCallback((change: Partial<Identity>) => {
    setIdentity((chosen) => (chosen ? { ...chosen, ...change } : chosen));
  }, []);

  const retry = useCallback(() => {
    setError(null);
    setAttempt((n) => n + 1);
  }, []);

  return { identities, identity, me, apiFetch, error, waiting: waitingForIdentities ?? waitingForMe, choose, retry };
}
