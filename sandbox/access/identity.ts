/**
 * Who is calling. The sandbox accepts a bearer JWT (HS256, with `exp`; claims `sub` = user id or
 * email, `tid` = tenant id or code) and, with dev identity on, the headers `X-Tenant-Id` and
 * `X-User-Id`. A request that names a user but no tenant is in the tenant its `Host` header names
 * (`sys_tenant.domain`). Plugins never read any of it: they get the result through
 * `ctx.auth(req)`, which a foundation fills from its own authentication. Users come from the user
 * cache (access-caches.ts): a warm request costs no query.
 */
import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { emailProblem, isUuid, userKey } from '../../rules/index.ts';
import { HttpError, SandboxStartError } from '../errors.ts';
import type { ResolvedIdentity } from '../http/request-context.ts';
import { currentConnection, type Tenancy } from '../data/tenancy.ts';
import { createAccessCaches, type SandboxUser, type UserCache } from './access-caches.ts';
import { createBearerTokens } from './bearer-tokens.ts';
import type { CacheStats } from './bounded-cache.ts';
import { domainOfHost } from './host-tenant.ts';

export type { SandboxUser } from './access-caches.ts';

export interface IdentityOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  /** HS256 secret of bearer tokens (see `jwtSecretFor`). */
  jwtSecret: string;
  /** Accept `X-Tenant-Id` / `X-User-Id`. Never in production. @default true */
  devHeaders?: boolean;
  /** Where users are held; the sandbox shares one with its change handler. @default a cache of its own */
  users?: UserCache;
}

export interface Identity {
  /** Sets `req.identity` when the request names a tenant and a user; rejects bad credentials. */
  middleware(req: Request, res: Response, next: NextFunction): void | Promise<void>;
  findUserById(id: string): Promise<SandboxUser | undefined>;
  findUserByEmail(email: string): Promise<SandboxUser | undefined>;
  /** The user a reference from outside names: a uuid is an id, anything else an email. */
  findUser(reference: string): Promise<SandboxUser | undefined>;
  listUsers(): Promise<SandboxUser[]>;
  /** A token for `user` (id or email) in `tenant` (id or code), valid for `expiresIn`. */
  signDevToken(claims: { user: string; tenant: string }, expiresIn?: string): Promise<string>;
  /** The user cache's counters, for metrics. */
  stats(): CacheStats;
}

/** The secret every sandbox accepts in development; never accepted with dev identity off. */
export const DEV_JWT_SECRET = 'foundation-sandbox-dev-secret';
/** An HS256 key shorter than its 256-bit hash is guessable offline from one token. */
const MIN_SECRET_LENGTH = 32;

/**
 * The token secret to use. With dev identity on, the given one or the built-in dev secret. With
 * it off (production), a secret of our own is required: the built-in one is public, in this file.
 */
export function jwtSecretFor({ secret, devIdentity }: { secret: string | undefined; devIdentity: boolean }): string {
  if (devIdentity) return secret || DEV_JWT_SECRET;
  if (!secret || secret === DEV_JWT_SECRET) {
    throw new SandboxStartError('Dev identity is off (NODE_ENV=production or SANDBOX_DEV_IDENTITY=off), so the built-in token secret is not accepted: ' +
      `set SANDBOX_JWT_SECRET to a secret of at least ${MIN_SECRET_LENGTH} characters, e.g. SANDBOX_JWT_SECRET=$(openssl rand -hex 32).`);
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new SandboxStartError(`SANDBOX_JWT_SECRET is ${secret.length} characters long; with dev identity off it must have at least ${MIN_SECRET_LENGTH}, e.g. $(openssl rand -hex 32).`);
  }
  return secret;
}

/** `Bearer <JWS compact token>` and nothing else: three base64url parts, one space after the scheme. */
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

export function createIdentity({ pool, tenancy, jwtSecret, devHeaders = true, users = createAccessCaches({ pool }).users }: IdentityOptions): Identity {
  const tokens = createBearerTokens(jwtSecret);
  const USER_COLUMNS = 'id::text AS id, email, name';

  async function findUserById(id: string): Promise<SandboxUser | undefined> {
    if (typeof id !== 'string' || !isUuid(id)) return undefined;
    return users.byId(id);
  }

  async function findUserByEmail(email: string): Promise<SandboxUser | undefined> {
    if (typeof email !== 'string' || emailProblem(email)) return undefined;
    return users.byEmail(email.toLowerCase());
  }

  async function findUser(reference: string): Promise<SandboxUser | undefined> {
    const key = typeof reference === 'string' ? userKey(reference) : undefined;
    if (!key) return undefined;
    return 'id' in key ? findUserById(key.id) : findUserByEmail(key.email);
  }

  async function listUsers(): Promise<SandboxUser[]> {
    return (await currentConnection(pool).query<SandboxUser>(`SELECT ${USER_COLUMNS} FROM public.sys_user ORDER BY email`)).rows;
  }

  async function claimsOf(req: Request): Promise<{ user?: string; tenant?: string }> {
    const authorization = req.get('authorization');
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      if (!token) throw new HttpError(401, 'INVALID_TOKEN', 'Authorization must be "Bearer <token>": the scheme, one space, one JWT, nothing after it.');
      try {
        return await tokens.verify(token);
      } catch (error) {
        throw new HttpError(401, 'INVALID_TOKEN', `The bearer token was refused: ${(error as Error).message}.`);
      }
    }
    const user = req.get('x-user-id');
    const tenant = req.get('x-tenant-id');
    if ((user || tenant) && !devHeaders) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'X-Tenant-Id and X-User-Id are accepted in dev only; send "Authorization: Bearer <token>".');
    }
    return { user, tenant };
  }

  /**
   * The identity of a request whose every part is already known: a token verified before (or dev
   * headers), its tenant, the Host's tenant and its user all cached, and all agreeing. null: the
   * request names nobody. undefined: something is not cached or not right, and the full check
   * (`checkIdentity`) runs; it is the one that says what is wrong. No promise, no query: a warm
   * request pays only for map lookups here.
   */
  function warmIdentity(req: Request): ResolvedIdentity | null | undefined {
    const authorization = req.get('authorization');
    let claims: { user?: string; tenant?: string } | undefined;
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      claims = token ? tokens.verifiedBefore(token) : undefined;
      if (!claims) return undefined;
    } else {
      claims = { user: req.get('x-user-id'), tenant: req.get('x-tenant-id') };
      if ((claims.user || claims.tenant) && !devHeaders) return undefined;
    }
    const { user, tenant } = claims;
    if (!user && !tenant) return null;
    if (!user) return undefined;
    const domain = domainOfHost(req.headers.host);
    const hostTenant = domain === undefined ? null : tenancy.cachedDomain(domain);
    if (hostTenant === undefined) return undefined;
    const tenantInfo = tenant ? tenancy.cached(tenant) : hostTenant;
    if (!tenantInfo || (hostTenant && hostTenant.id !== tenantInfo.id)) return undefined;
    const key = userKey(user);
    const found = key && users.cached(key);
    return found ? { tenantId: tenantInfo.id, tenantCode: tenantInfo.code, userId: found.id } : undefined;
  }

  function middleware(req: Request, res: Response, next: NextFunction): void | Promise<void> {
    const warm = warmIdentity(req);
    if (warm === undefined) return checkIdentity(req, res, next);
    if (warm) req.identity = warm;
    next();
  }

  async function checkIdentity(req: Request, _res: Response, next: NextFunction): Promise<void> {
    const { user, tenant } = await claimsOf(req);
    if (!user && !tenant) return next();
    if (!user) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'The request names a tenant but no user: send both (X-Tenant-Id and X-User-Id, or a token with "tid" and "sub").');
    }
    const domain = domainOfHost(req.headers.host);
    const hostTenant = domain === undefined ? null : await tenancy.resolve({ domain });
    if (!tenant && !hostTenant) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'The request names a user but no tenant: send both (X-Tenant-Id and X-User-Id, or a token with "tid" and "sub"), or call the tenant\'s own domain.');
    }
    const tenantInfo = tenant ? await tenancy.get(tenant) : hostTenant!;
    if (hostTenant && hostTenant.id !== tenantInfo.id) {
      // A token of one tenant replayed at another's domain is refused, not quietly served as either.
      throw new HttpError(403, 'TENANT_MISMATCH', `The request names tenant ${tenantInfo.code}, but its Host ${JSON.stringify(domain)} is tenant ${hostTenant.code}'s.`,
        { tenant: tenantInfo.code, hostTenant: hostTenant.code });
    }
    const found = await findUser(user);
    if (!found) {
      const what = userKey(user) ? 'does not exist' : 'is neither a user id (uuid) nor an email address';
      throw new HttpError(401, 'UNKNOWN_USER', `User ${JSON.stringify(user)} ${what}.`, { user });
    }
    const identity: ResolvedIdentity = { tenantId: tenantInfo.id, tenantCode: tenantInfo.code, userId: found.id };
    req.identity = identity;
    next();
  }

  async function signDevToken(claims: { user: string; tenant: string }, expiresIn = '8h'): Promise<string> {
    return tokens.sign(claims, expiresIn);
  }

  return { middleware, findUserById, findUserByEmail, findUser, listUsers, signDevToken, stats: () => users.stats() };
}
