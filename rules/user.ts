/**
 * The keys a request may name a user by: the user's id (a uuid) or email address. An email always
 * holds an `@` and a uuid never does, so the two can't be confused.
 */
import { isUuid } from './tenant.ts';

const EMAIL = /^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$/;

/** Why `email` is not a usable user email, or undefined when it is. */
export function emailProblem(email: unknown): string | undefined {
  if (typeof email !== 'string') return 'must be a string';
  if (email.length > 254) return `must be at most 254 characters long (got ${email.length})`;
  if (!EMAIL.test(email)) return 'must be one address: local part, @, domain, without spaces or control characters';
  return undefined;
}

/** What a caller named a user by. */
export type UserKey = { id: string } | { email: string };

/** A uuid is an id; a valid email (compared in lower case) is an email; anything else is undefined. */
export function userKey(value: string): UserKey | undefined {
  if (isUuid(value)) return { id: value.toLowerCase() };
  return emailProblem(value) ? undefined : { email: value.toLowerCase() };
}
