/**
 * Several middleware as one Express handler. Each layer Express walks costs a request a path
 * match, a try/catch and a promise check; a chain of plain functions costs a call each. The
 * host's middleware stay separate functions, in their order, and are mounted as a chain where the
 * request path is hot.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs `handlers` in order, as Express would: the next one when a handler calls `next()`, the
 * app's error handling when one calls `next(error)`, throws or returns a rejected promise.
 */
export function chain(...handlers: RequestHandler[]): RequestHandler {
  return function chained(req: Request, res: Response, next: NextFunction): void {
    let index = 0;
    const step: NextFunction = (error?: unknown) => {
      // An error, or Express's own skips ('route', 'router'): Express takes it from here.
      if (error != null || index === handlers.length) return next(error);
      const handler = handlers[index++]!;
      try {
        const returned = handler(req, res, step) as unknown;
        if (isThenable(returned)) returned.then(undefined, (rejected: unknown) => next(rejected ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}

/** What Express treats as a returned promise. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}
