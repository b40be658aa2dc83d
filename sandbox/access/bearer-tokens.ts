/**
 * Bearer tokens: HS256 JWTs that must carry `exp`. Checking a signature is most of what identity
 * costs a request, and a client sends the same token for hours: a token whose signature and
 * claims passed once is remembered by its exact text (signature included, so no other token can
 * match it), and later uses only check its times again.
 */
import { jwtVerify, SignJWT } from 'jose';
import { createBoundedCache, type BoundedCache } from './bounded-cache.ts';

export interface TokenClaims {
  /** `sub`: a user id or email. */
  user?: string;
  /** `tid`: a tenant id or code. */
  tenant?: string;
}

export interface BearerTokens {
  /** The token's claims; throws (with jose's reason) when its signature, algorithm or times don't hold. */
  verify(token: string): Promise<TokenClaims>;
  /** The claims of a token verified before whose times still hold, else undefined (ask `verify`, which says why). Sync: the warm path. */
  verifiedBefore(token: string): TokenClaims | undefined;
  sign(claims: { user: string; tenant: string }, expiresIn: string): Promise<string>;
}

interface Verified extends TokenClaims {
  /** Seconds since the epoch, as in the token. */
  expiresAt: number;
  notBefore?: number;
}

export function createBearerTokens(secret: string, { maxEntries = 10_000 } = {}): BearerTokens {
  const key = new TextEncoder().encode(secret);
  const verified: BoundedCache<Verified> = createBoundedCache({ maxEntries });

  async function check(token: string): Promise<Verified> {
    // A token without exp would be valid for ever: refused, whoever signed it.
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp'] });
    return { user: stringClaim(payload.sub), tenant: stringClaim(payload.tid), expiresAt: payload.exp!, notBefore: payload.nbf };
  }

  /** The same tests jose made at the first use, against the clock of this use: the reason one fails, else undefined. */
  function timeProblem({ expiresAt, notBefore }: Verified): string | undefined {
    const now = Math.floor(Date.now() / 1000);
    if (expiresAt <= now) return '"exp" claim timestamp check failed';
    if (notBefore !== undefined && notBefore > now) return '"nbf" claim timestamp check failed';
    return undefined;
  }

  return {
    async verify(token) {
      const remembered = (await verified.get(token, () => check(token)))!;
      const problem = timeProblem(remembered);
      if (problem) throw new Error(problem);
      return { user: remembered.user, tenant: remembered.tenant };
    },
    verifiedBefore(token) {
      const remembered = verified.peek(token);
      return remembered && !timeProblem(remembered) ? { user: remembered.user, tenant: remembered.tenant } : undefined;
    },
    sign: ({ user, tenant }, expiresIn) =>
      new SignJWT({ tid: tenant }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime(expiresIn).sign(key),
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
