/**
 * Kit-owned (create-foundation-module): the contract's error answers, shared by the sandbox and by
 * the adapter `foundation-module vendor` places in a foundation (src/lib/foundation-module/). It
 * imports nothing, so a foundation runs it without the kit. Rewritten by each vendoring: don't edit.
 *
 * `HttpError` is what plugins throw (`ctx.httpError`); `answerFor` turns any error into the
 * envelope's status, code and message: a client's mistake is a 4xx naming what is wrong, and only
 * the server's own failures are 500, which never show internals (no SQL, no stack).
 */

/**
 * An error with an HTTP status, for HTTP-facing code (middleware, `ctx.httpError` in plugins).
 * The status must be a client or server error (400–599): anything else is a programming mistake,
 * refused here so that it never reaches Express as an invalid status.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields merged into the envelope's `error` object (e.g. `field`, `permission`). */
    readonly details: Record<string, unknown> = {},
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new TypeError(`An HTTP error needs a status from 400 to 599 (got ${JSON.stringify(status)}); for other answers use res.status(…) in the handler.`);
    }
    if (typeof code !== 'string' || !/^[A-Z][A-Z0-9_]{0,63}$/.test(code)) {
      throw new TypeError(`An HTTP error needs an UPPER_SNAKE_CASE code such as "ITEM_NOT_FOUND" (got ${JSON.stringify(code)}).`);
    }
    super(message);
    this.name = 'HttpError';
  }
}

export interface Answer {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** Seconds, for 503s worth retrying. */
  retryAfter?: number;
}

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
  const pg = postgresErrorOf(error);
  if (pg) return postgresAnswer(pg);
  if (isConnectionFailure(error)) return UNAVAILABLE;
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

/** The database (or a service the request needs) can't be reached: worth a retry, not the client's mistake nor a bug. */
const UNAVAILABLE: Answer = { status: 503, code: 'DATABASE_UNAVAILABLE', message: 'The database cannot be reached right now; try again shortly.', retryAfter: 5 };

/** A connection that could not be made: refused, unreachable, a name that does not resolve, a connect timeout. */
const CONNECT_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** pg's own words for a connection lost or never made (it gives them no code); a query on a client that lost it says the last. */
const PG_CONNECTION_MESSAGES = /^(Connection terminated (unexpectedly|due to connection timeout)|Client has encountered a connection error and is not queryable)/;

/**
 * Whether `error` (or one it wraps: `cause`, an AggregateError's `errors`, as Node's connect gives
 * for a host with two addresses) is a failure to reach a server rather than an answer from it.
 * Socket errors count only from a connect or a name lookup: a client's own reset socket is not the database.
 */
export function isConnectionFailure(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const { code, syscall, message, cause, errors } = error as { code?: unknown; syscall?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && CONNECT_ERRNOS.has(code) && (syscall === 'connect' || syscall === 'getaddrinfo' || Array.isArray(errors))) return true;
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isConnectionFailure(inner, depth + 1))) return true;
  return isConnectionFailure(cause, depth + 1);
}

function postgresAnswer({ code, column }: PgError): Answer {
  const sqlClass = code.slice(0, 2);
  // Class 08 (connection exception), the server shutting down or starting up, no connection slot left.
  if (sqlClass === '08' || ['57P01', '57P02', '57P03', '53300'].includes(code)) return UNAVAILABLE;
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

