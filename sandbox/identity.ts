/**
 * Who is calling. The sandbox accepts a bearer JWT signed with its dev secret (claims `sub` =
 * user id or email, `tid` = tenant id or code) and, in dev only, the headers `X-Tenant-Id` and
 * `X-User-Id`. Plugins never read either: they get the result through `ctx.auth(req)`, which a
 * foundation fills from its own authentication.
 */
import type { NextFunction, Request, Response } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import type pg from 'pg';
import { HttpError } from './errors.ts';
import type { ResolvedIdentity } from './request-context.ts';
import type { Tenancy } from './tenancy.ts';

export interface IdentityOptions {
  pool: pg.Pool;
  tenancy: Tenancy;
  /** HS256 secret of dev tokens. */
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
  findUser(idOrEmail: string): Promise<SandboxUser | undefined>;
  listUsers(): Promise<SandboxUser[]>;
  /** A token for `user` (id or email) in `tenant` (id or code), valid for `expiresIn`. */
  signDevToken(claims: { user: string; tenant: string }, expiresIn?: string): Promise<string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createIdentity({ pool, tenancy, jwtSecret, devHeaders = true }: IdentityOptions): Identity {
  const key = new TextEncoder().encode(jwtSecret);

  async function findUser(idOrEmail: string): Promise<SandboxUser | undefined> {
    const column = UUID.test(idOrEmail) ? 'id' : 'email';
    const { rows } = await pool.query<SandboxUser>(
      `SELECT id::text AS id, email, name FROM public.sys_user WHERE ${column} = $1`, [idOrEmail.toLowerCase()]);
    return rows[0];
  }

  async function listUsers(): Promise<SandboxUser[]> {
    return (await pool.query<SandboxUser>('SELECT id::text AS id, email, name FROM public.sys_user ORDER BY email')).rows;
  }

  async function claimsOf(req: Request): Promise<{ user?: string; tenant?: string }> {
    const authorization = req.get('authorization');
    if (authorization) {
      const [scheme, token] = authorization.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token) {
        throw new HttpError(401, 'INVALID_TOKEN', 'Authorization must be "Bearer <token>".');
      }
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
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
    if (!found) throw new HttpError(401, 'UNKNOWN_USER', `User ${JSON.stringify(user)} does not exist.`, { user });
    const identity: ResolvedIdentity = { tenantId: tenantInfo.id, tenantCode: tenantInfo.code, userId: found.id };
    req.identity = identity;
    next();
  }

  async function signDevToken({ user, tenant }: { user: string; tenant: string }, expiresIn = '8h'): Promise<string> {
    return new SignJWT({ tid: tenant }).setProtectedHeader({ alg: 'HS256' }).setSubject(user)
      .setIssuedAt().setExpirationTime(expiresIn).sign(key);
  }

  return { middleware, findUser, listUsers, signDevToken };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
