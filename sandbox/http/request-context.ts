/**
 * What the host's middleware stores on each request, declared once so handlers read it typed.
 */
import type { RequestIdentity } from '../contract.ts';

export interface ResolvedIdentity extends RequestIdentity {
  tenantCode: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** From a valid `X-Request-Id` header, else generated; echoed in the response and in errors. */
      requestId: string;
      /** Set by the identity middleware when the request names a tenant and a user. */
      identity?: ResolvedIdentity;
      /** Set when the request is routed to a plugin, for logs. */
      pluginId?: string;
    }
  }
}

export {};
