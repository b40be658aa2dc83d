/** The services' refusals as the admin API answers them, one mapping for every route. */
import { HttpError } from '../foundation-lib/http-error.ts';
import type { StaleWriteError } from '../operations/registry/revisions.ts';
import { etag } from './request-input.ts';

/** 409: the row moved since the client read it; who moved it, when, and its ETag now. */
export function staleWriteAnswer(error: StaleWriteError): HttpError {
  return new HttpError(409, 'STALE_WRITE', error.message, {
    expectedRevision: error.expected, currentRevision: error.current.revision, changedBy: error.current.updatedBy, changedAt: error.current.updatedAt, etag: etag(error.current.revision),
  });
}
