/**
 * The pre-login CSRF cookie: a random id that CSRF tokens are bound to before there is a login (login
 * forms). HttpOnly, and `__Host-` whenever Secure, so neither scripts nor a sibling subdomain can set it.
 */
import type { CookieAttributes } from '../cookies/serialize.js';
import { isLocalhost, type RequestInfo } from '../http/request.js';
import type { ResolvedOptions } from '../options.js';

export function csrfCookiePolicy(
  options: ResolvedOptions,
  request: RequestInfo,
): { name: string; attributes: CookieAttributes } {
  const cookie = options.cookie;
  const secure =
    cookie.secure === 'auto' ? request.secure || !isLocalhost(request.header('host')) : cookie.secure;
  return {
    name: `${secure ? '__Host-' : ''}keycard_csrf`,
    attributes: { httpOnly: true, secure, sameSite: cookie.sameSite, path: '/' },
  };
}
