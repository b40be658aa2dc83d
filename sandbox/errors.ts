/**
 * The one error class that carries an HTTP status and a machine-readable code. Code anywhere
 * throws it; only http.ts turns it into the JSON envelope `{ error: { code, message, requestId } }`.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields merged into the envelope's `error` object (e.g. `field`, `permission`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
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
