/**
 * Waiting for the API: `npm run dev` starts the shell and the API together, and the shell is
 * usually ready first (the API bootstraps its database), and the API restarts when module code
 * changes. A request that finds nobody answering is tried again by itself, with a growing pause,
 * until the API answers; the shell says it is starting meanwhile instead of stopping at an error.
 */
import { isApiUnreachable } from './api.ts';

/** The pause before try number `tries + 1`: 0.5 s, 1 s, then every 2 s. */
export function retryDelayMs(tries: number): number {
  return Math.min(2_000, 500 * 2 ** tries);
}

/** After this long without an answer, the shell also asks whether `npm run dev` runs at all. */
export const LONG_WAIT_MS = 15_000;

/** Said to `onWaiting` at each failed try. */
export interface ApiWait {
  /** When the first try failed (Date.now()). */
  since: number;
  /** Failed tries so far. */
  tries: number;
  /** The pause before the next try. */
  nextInMs: number;
}

export interface UntilApiAnswersOptions {
  /** Stops waiting: the promise then rejects with the last failure. */
  signal: AbortSignal;
  onWaiting(wait: ApiWait): void;
}

/**
 * `request()`, tried again while the API does not answer at all. An answer, even an error
 * answer (401, 500…), ends the wait: the caller gets it as `request` gives it.
 */
export async function untilApiAnswers<T>(request: () => Promise<T>, { signal, onWaiting }: UntilApiAnswersOptions): Promise<T> {
  let since: number | undefined;
  for (let tries = 0; ; tries++) {
    try {
      return await request();
    } catch (error) {
      if (!isApiUnreachable(error) || signal.aborted) throw error;
      since ??= Date.now();
      const nextInMs = retryDelayMs(tries);
      onWaiting({ since, tries: tries + 1, nextInMs });
      await pause(nextInMs, signal, error);
    }
  }
}

function pause(ms: number, signal: AbortSignal, reason: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
