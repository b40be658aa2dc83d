/**
 * The sandbox's error classes. Code anywhere throws them; only the edges turn them into answers:
 * http/error-envelope.ts into the JSON envelope `{ error: { code, message, requestId } }`, the CLI into a message
 * and an exit code. Data-layer code throws `DomainError`s, never HTTP statuses.
 */

export { HttpError } from '../foundation-lib/http-error.ts';

/** The codes of `DomainError`s and what they mean to an HTTP client (http/error-envelope.ts maps them). */
export type DomainErrorCode =
  /** A tenant reference that names no tenant, or is neither a tenant id nor a valid code. */
  | 'UNKNOWN_TENANT'
  /** A user reference that names no user, or is neither a user id nor an email. */
  | 'UNKNOWN_USER'
  /** The tenant's row names a schema that does not exist: nothing may run for that tenant. */
  | 'TENANT_SCHEMA_MISSING'
  /** No pooled connection became free within the acquire timeout. */
  | 'DATABASE_BUSY';

/**
 * A failure of the host's own services that callers may want to tell apart by `code`. It carries
 * no HTTP status: the edge (HTTP, CLI) decides what it means there.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

/**
 * A start-up failure a user can act on: the message says what is wrong and how to fix it, so the
 * CLI prints it without a stack trace.
 */
export class SandboxStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxStartError';
  }
}
