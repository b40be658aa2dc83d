/**
 * The tenant a request's `Host` header names: the header without its port and trailing dot, in
 * lower case, compared with `sys_tenant.domain`. Anything that is not a host name a tenant could
 * have (an IP address, `[::1]`, a port that is not 1–65535 in digits, non-ASCII, too long, empty)
 * names no tenant: it is never an error, since the Host header is also how a client reaches a
 * server that has no tenants.
 */
import { domainProblem } from '../data/tenants.ts';

/** A host name (253) with a port (6): anything longer is not one, and is not worth a regex. */
const MAX_HOST_HEADER = 260;
/** The name, and an optional port of digits; brackets (IPv6 literals) and a second colon never match. */
const HOST_HEADER = /^([^:[\]]+?)(?::(\d{1,5}))?$/;
/** Ports are 1–65535: a Host with port 0 or 99999 is no address a client reached this server at. */
const MAX_PORT = 65_535;

let last: { host: string | undefined; domain: string | undefined } = { host: undefined, domain: undefined };

/** The domain to look up for a `Host` header value, or undefined when it names no tenant. */
export function domainOfHost(host: string | undefined): string | undefined {
  // A server is mostly called by one name: the last answer is kept, as parsing it is most of the cost.
  if (host === last.host) return last.domain;
  const domain = parseHost(host);
  last = { host, domain };
  return domain;
}

function parseHost(host: string | undefined): string | undefined {
  if (typeof host !== 'string' || host.length === 0 || host.length > MAX_HOST_HEADER) return undefined;
  const match = HOST_HEADER.exec(host);
  const name = match?.[1]?.toLowerCase();
  if (!name) return undefined;
  const port = match![2];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= MAX_PORT)) return undefined;
  // `acme.example.com.` is the same name written fully qualified.
  const domain = name.endsWith('.') ? name.slice(0, -1) : name;
  return domainProblem(domain) ? undefined : domain;
}
