/**
 * The session cookie's name and attributes for one request. Secure cookies get the `__Host-` prefix (or
 * `__Secure-` when a Domain is configured), which a browser only accepts from a secure origin with Path=/,
 * so a sibling subdomain or a plain-http page cannot plant or overwrite them (RFC 6265bis §4.1.3).
 */
import { type CookieAttributes, serializeCookie } from '../cookies/serialize.js';
import { isLocalhost, type RequestInfo } from '../http/request.js';
import type { ResolvedOptions } from '../options.js';

export interface SessionCookiePolicy {
  name: string;
  attributes: CookieAttributes;
}

export function sessionCookiePolicy(options: ResolvedOptions, request: RequestInfo): SessionCookiePolicy {
  const cookie = options.cookie;
  const secure =
    cookie.secure === 'auto' ? request.secure || !isLocalhost(request.header('host')) : cookie.secure;
  const prefix = secure ? (cookie.domain === undefined ? '__Host-' : '__Secure-') : '';
  return {
    name: prefix + cookie.name,
    attributes: { httpOnly: true, secure, sameSite: cookie.sameSite, path: '/', domain: cookie.domain },
  };
}

/** Sets the token; persistent cookies live as long as the session's absolute lifetime and no longer. */
export function setSessionCookie(
  policy: SessionCookiePolicy,
  token: string,
  maxAgeSeconds: number | undefined,
): string {
  return serializeCookie(policy.name, token, { ...policy.attributes, maxAgeSeconds });
}

/** Deletes the cookie: same name, path and domain, so the browser matches the one it holds. */
export function clearSessionCookie(policy: SessionCookiePolicy): string {
  return serializeCookie(policy.name, '', { ...policy.attributes, maxAgeSeconds: 0 });
}
