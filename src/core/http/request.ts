/**
 * The little core needs to know about an HTTP request. Adapters build it from their framework's request
 * without copying headers: `header` reads lazily.
 */
export interface RequestInfo {
  /** Upper-case method. */
  readonly method: string;
  /** A request header by lower-case name; for repeated headers, the framework's joined value. */
  header(name: string): string | undefined;
  /** True when the client connection is HTTPS: TLS here, or a trusted proxy says so. */
  readonly secure: boolean;
  /** The client address (after the framework's trusted-proxy handling). */
  readonly ip: string | null;
  /** The URL path without the query, for audit events; worked out only when an event needs it. */
  path?(): string;
  /**
   * The route the framework matched, as its template (`/auth/sessions/:id`), for the request's span;
   * never the path itself, which carries ids. Read when the request ends; undefined when unknown.
   */
  route?(): string | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** RFC 9110 §9.2.1: methods that must not change state; everything else needs the cross-site checks. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/** `localhost`, `127.0.0.1`, `[::1]` and `*.localhost` (RFC 6761 §6.3), with or without a port. */
export function isLocalhost(host: string | undefined): boolean {
  if (!host) return false;
  let name = host.toLowerCase();
  if (name.startsWith('[')) name = name.slice(0, name.indexOf(']') + 1);
  else {
    const colon = name.lastIndexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(name)
  );
}
