/**
 * The one place where any error becomes an HTTP answer: the JSON envelope
 * `{ error: { code, message, requestId, …details } }`. A client's mistake is a 4xx naming what is
 * wrong; only the server's own failures are 500, and those never show internals (no SQL, no stack).
 */
import type { NextFunction, Request, Response } from 'express';
import { answerFor as contractAnswerFor, postgresErrorOf, type Answer } from '../../foundation-lib/http-error.ts';
import { DomainError, type DomainErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isAcquireTimeout } from '../data/tenancy.ts';

const DOMAIN_STATUS: Record<DomainErrorCode, number> = {
  UNKNOWN_TENANT: 400,
  UNKNOWN_USER: 401,
  TENANT_SCHEMA_MISSING: 503,
  DATABASE_BUSY: 503,
};

export { postgresErrorOf };

/** What to answer for `error`: the sandbox's own failures, then the contract's answers (foundation-lib/http-error.ts). */
export function answerFor(error: unknown): Answer {
  if (error instanceof DomainError) {
    const status = DOMAIN_STATUS[error.code];
    return { status, code: error.code, message: error.message, details: error.details, retryAfter: error.code === 'DATABASE_BUSY' ? 1 : undefined };
  }
  if (isAcquireTimeout(error)) {
    return { status: 503, code: 'DATABASE_BUSY', message: 'Every database connection is in use and none came free in time; try again shortly.', retryAfter: 1 };
  }
  return contractAnswerFor(error);
}

export function errorEnvelope(logger: Logger) {
  return function errorEnvelopeHandler(error: unknown, req: Request, res: Response, _next: NextFunction): void {
    const context = { requestId: req.requestId, pluginId: req.pluginId, tenantId: req.identity?.tenantId };
    const answer = answerFor(error);
    if (answer.status >= 500) logger.error({ err: error, ...context, code: answer.code }, 'request failed');
    // A value the database refused usually means a plugin that validated too little: worth a line.
    else if (postgresErrorOf(error)) logger.warn({ err: error, ...context, code: answer.code }, 'database refused a value from the request');
    else logger.debug({ ...context, code: answer.code, status: answer.status }, 'request refused');
    if (res.headersSent) return void res.end();
    if (answer.retryAfter) res.setHeader('Retry-After', String(answer.retryAfter));
    res.status(answer.status).json({ error: { ...answer.details, code: answer.code, message: answer.message, requestId: req.requestId } });
  };
}
