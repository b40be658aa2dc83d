/**
 * The one place where any error becomes an HTTP answer: the JSON envelope
 * `{ error: { code, message, requestId, …details } }`. A client's mistake is a 4xx naming what is
 * wrong; only the server's own failures are 500, and those never show internals (no SQL, no stack).
 */
import type { NextFunction, Request, Response } from 'express';
import { DomainError, HttpError, type DomainErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isAcquireTimeout } from '../data/tenancy.ts';

interface Answer {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** Seconds, for 503s worth retrying. */
  retryAfter?: number;
}

const DOMAIN_STATUS: Record<DomainErrorCode, number> = {
  UNKNOWN_TENANT: 400,
  UNKNOWN_USER: 401,
  TENANT_SCHEMA_MISSING: 503,
  DATABASE_BUSY: 503,
};

/** Body-parser failures carry a `type`; map the ones a client causes to named codes. */
const BODY_ERRORS: Record<string, { code: string; message: string }> = {
  'entity.parse.failed': { code: 'INVALID_JSON', message: 'The request body is not valid JSON.' },
  'entity.too.large': { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than the limit' },
  'entity.verify.failed': { code: 'INVALID_BODY', message: 'The request body was refused.' },
  'request.aborted': { code: 'REQUEST_ABORTED', message: 'The request body ended before its announced length.' },
  'request.size.invalid': { code: 'INVALID_BODY', message: 'The request body does not have the length its Content-Length announced.' },
  'encoding.unsupported': { code: 'UNSUPPORTED_ENCODING', message: 'The request body encoding is not supported; send identity, gzip, deflate or br.' },
  'charset.unsupported': { code: 'UNSUPPORTED_CHARSET', message: 'The request body charset is not supported; send UTF-8.' },
  'stream.encoding.set': { code: 'INVALID_BODY', message: 'The request body could not be read.' },
};

/**
 * PostgreSQL's answers to a plugin's own query that a client's data caused: class 22 (data
 * exception) is a bad value, 400; class 23 (integrity) a clash with stored data, 409. The
 * messages say what kind of value was refused, never the SQL.
 */
const SQLSTATE_ANSWERS: Record<string, { code: string; message: string }> = {
  '22001': { code: 'VALUE_TOO_LONG', message: 'A value is longer than its column allows.' },
  '22003': { code: 'VALUE_OUT_OF_RANGE', message: 'A number is out of the range its column allows.' },
  '22007': { code: 'INVALID_DATETIME', message: 'A date or time value is not valid.' },
  '22008': { code: 'INVALID_DATETIME', message: 'A date or time value is out of range.' },
  '22012': { code: 'DIVISION_BY_ZERO', message: 'A value led to a division by zero.' },
  '22021': { code: 'INVALID_CHARACTER', message: 'A text value holds a character the database cannot store (such as NUL, \\u0000).' },
  '22P02': { code: 'INVALID_VALUE_FORMAT', message: 'A value is not in the format its column needs (for example not a number, or not a uuid).' },
  '22P05': { code: 'INVALID_CHARACTER', message: 'A text value holds a character the database cannot store.' },
  '23502': { code: 'MISSING_VALUE', message: 'A required value is missing.' },
  '23503': { code: 'REFERENCE_VIOLATION', message: 'The change refers to a row that does not exist, or removes one that others still refer to.' },
  '23505': { code: 'ALREADY_EXISTS', message: 'A row with the same unique value already exists.' },
  '23514': { code: 'CHECK_VIOLATION', message: 'A value breaks a rule of its table.' },
  '23P01': { code: 'EXCLUSION_VIOLATION', message: 'The change overlaps a row that already exists.' },
};

/** A PostgreSQL error, found through Drizzle's wrapper (`DrizzleQueryError`, whose message holds the SQL). */
interface PgError {
  code: string;
  column?: string;
  constraint?: string;
}

export function postgresErrorOf(error: unknown): PgError | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const candidate = e as { code?: unknown; severity?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code) && typeof candidate.severity === 'string') return e as PgError;
  }
  return undefined;
}

/** What to answer for `error`; 500 with no details for anything not known to be safe to show. */
export function answerFor(error: unknown): Answer {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, details: error.details };
  if (error instanceof DomainError) {
    const status = DOMAIN_STATUS[error.code];
    return { status, code: error.code, message: error.message, details: error.details, retryAfter: error.code === 'DATABASE_BUSY' ? 1 : undefined };
  }
  if (isAcquireTimeout(error)) {
    return { status: 503, code: 'DATABASE_BUSY', message: 'Every database connection is in use and none came free in time; try again shortly.', retryAfter: 1 };
  }
  const pg = postgresErrorOf(error);
  if (pg) return postgresAnswer(pg);
  // body-parser and the router mark client errors with a 4xx `status` and `expose: true` (http-errors).
  const { status, type, expose, limit } = error as { status?: unknown; type?: unknown; expose?: unknown; limit?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500 && expose !== false) {
    const known = typeof type === 'string' ? BODY_ERRORS[type] : undefined;
    if (known) return { status, code: known.code, message: type === 'entity.too.large' ? `${known.message} (${limit} bytes).` : known.message };
    if (error instanceof URIError) return { status, code: 'INVALID_URL', message: 'The URL holds a malformed percent-encoding (such as %E0%A4%A): encode each byte as %XX.' };
    // body-parser passes decompression failures on untyped, with zlib's own code (Z_DATA_ERROR, …).
    if (typeof (error as { code?: unknown }).code === 'string') {
      return { status, code: 'INVALID_BODY', message: 'The request body could not be decompressed: it is not what its Content-Encoding header says.' };
    }
    return { status, code: 'BAD_REQUEST', message: 'The request is malformed.' };
  }
  return { status: 500, code: 'INTERNAL', message: 'Something went wrong on the server; the log has the details under this requestId.' };
}

function postgresAnswer({ code, column }: PgError): Answer {
  const sqlClass = code.slice(0, 2);
  const field = column ? { field: column } : {};
  if (sqlClass === '22') {
    const known = SQLSTATE_ANSWERS[code] ?? { code: 'INVALID_DATA', message: 'A value was refused by the database.' };
    return { status: 400, ...known, details: { ...field, sqlState: code } };
  }
  if (sqlClass === '23') {
    const known = SQLSTATE_ANSWERS[code] ?? { code: 'CONFLICT', message: 'The change conflicts with the data already stored.' };
    return { status: 409, ...known, details: { ...field, sqlState: code } };
  }
  if (code === '57014') return { status: 503, code: 'DATABASE_TIMEOUT', message: 'The database took longer than the statement timeout; try again, or ask for less.', retryAfter: 1 };
  if (code === '55P03') return { status: 503, code: 'DATABASE_BUSY', message: 'The data is locked by another operation; try again shortly.', retryAfter: 1 };
  if (code === '40001' || code === '40P01') return { status: 503, code: 'TRANSACTION_CONFLICT', message: 'The change collided with a concurrent one and was undone; send it again.', retryAfter: 1 };
  return { status: 500, code: 'INTERNAL', message: 'Something went wrong on the server; the log has the details under this requestId.' };
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
