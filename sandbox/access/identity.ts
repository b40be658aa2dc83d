/**
 * Who is calling. The sandbox accepts a bearer JWT (HS256, with `exp`; claims `sub` = user id or
 * email, `tid` = tenant id or code) and, with dev identity on, the headers `X-Tenant-Id` and
 * `X-User-Id`. Plugins never read either: they get the result through `ctx.auth(req)`, which a
 * foundation fills from its own authentication.
 */
import type { NextFunction, Request, Response } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import type pg from 'pg';
import { emailProblem, isUuid, userKey } from '../../rules/index.ts';
import { HttpError, SandboxStartError } from '../errors.ts';
import type { ResolvedIdentity } from '../http/request-context.ts';
import { currentConnection, type Tenancy } from '../data/tenancy.ts';

export interface IdentityOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  /** HS256 secret of bearer tokens (see `jwtSecretFor`). */
  jwtSecret: string;
  /** Accept `X-Tenant-Id` / `X-User-Id`. Never in production. @default true */
  devHeaders?: boolean;
}

export interface SandboxUser {
  id: string;
  email: string;
  name: string;
}

export interface Identity {
  /** Sets `req.identity` when the request names a tenant and a user; rejects bad credentials. */
  middleware(req: Request, res: Response, next: NextFunction): Promise<void>;
  findUserById(id: string): Promise<SandboxUser | undefined>;
  findUserByEmail(email: string): Promise<SandboxUser | undefined>;
  /** The user a reference from outside names: a uuid is an id, anything else an email. */
  findUser(reference: string): Promise<SandboxUser | undefined>;
  listUsers(): Promise<SandboxUser[]>;
  /** A token for `user` (id or email) in `tenant` (id or code), valid for `expiresIn`. */
  signDevToken(claims: { user: string; tenant: string }, expiresIn?: string): Promise<string>;
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

export function createIdentity({ pool, tenancy, jwtSecret, devHeaders = true }: IdentityOptions): Identity {
  const key = new TextEncoder().encode(jwtSecret);
  const USER_COLUMNS = 'id::text AS id, email, name';

  async function findUserById(id: string): Promise<SandboxUser | undefined> {
    if (typeof id !== 'string' || !isUuid(id)) return undefined;
    const { rows } = await currentConnection(pool).query<SandboxUser>(`SELECT ${USER_COLUMNS} FROM public.sys_user WHERE id = $1::uuid`, [id]);
    return rows[0];
  }

  async function findUserByEmail(email: string): Promise<SandboxUser | undefined> {
    if (typeof email !== 'string' || emailProblem(email)) return undefined;
    const { rows } = await currentConnection(pool).query<SandboxUser>(`SELECT ${USER_COLUMNS} FROM public.sys_user WHERE email = $1`, [email.toLowerCase()]);
    return rows[0];
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
        // A token without exp would be valid for ever: refused, whoever signed it.
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp'] });
        return { user: stringClaim(payload.sub), tenant: stringClaim(payload.tid) };
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

  async function middleware(req: Request, _res: Response, next: NextFunction): Promise<void> {
    const { user, tenant } = await claimsOf(req);
    if (!user && !tenant) return next();
    if (!user || !tenant) {
      throw new HttpError(401, 'UNAUTHENTICATED', `The request names a ${user ? 'user but no tenant' : 'tenant but no user'}: send both (X-Tenant-Id and X-User-Id, or a token with "tid" and "sub").`);
    }
    const tenantInfo = await tenancy.get(tenant);
    const found = await findUser(user);
    if (!found) {
      const what = userKey(user) ? 'does not exist' : 'is neither a user id (uuid) nor an email address';
      throw new HttpError(401, 'UNKNOWN_USER', `User ${JSON.stringify(user)} ${what}.`, { user });
    }
    const identity: ResolvedIdentity = { tenantId: tenantInfo.id, tenantCode: tenantInfo.code, userId: found.id };
    req.identity = identity;
    next();
  }

  async function signDevToken({ user, tenant }: { user: string; tenant: string }, expiresIn = '8h'): Promise<string> {
    return new SignJWT({ tid: tenant }).setProtectedHeader({ alg: 'HS256' }).setSubject(user)
      .setIssuedAt().setExpirationTime(expiresIn).sign(key);
  }

  return { middleware, findUserById, findUserByEmail, findUser, listUsers, signDevToken };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
