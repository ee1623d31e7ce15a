/**
 * The jwt strategy's cookies (cookie transport). The access token goes to every path (`__Host-` prefix
 * when Secure); the refresh token only to the refresh path, so it is never sent with ordinary requests —
 * which rules out `__Host-` (it requires Path=/), hence `__Secure-`.
 */
import { type CookieAttributes, serializeCookie } from '../cookies/serialize.js';
import { isLocalhost, type RequestInfo } from '../http/request.js';
import type { ResolvedOptions } from '../options.js';

export interface TokenCookie {
  name: string;
  attributes: CookieAttributes;
}

export interface TokenCookies {
  access: TokenCookie;
  refresh: TokenCookie;
}

export function tokenCookies(options: ResolvedOptions, request: RequestInfo): TokenCookies {
  const cookie = options.cookie;
  const secure =
    cookie.secure === 'auto' ? request.secure || !isLocalhost(request.header('host')) : cookie.secure;
  const base = { httpOnly: true, secure, sameSite: cookie.sameSite, domain: cookie.domain } as const;
  const accessPrefix = secure ? (cookie.domain === undefined ? '__Host-' : '__Secure-') : '';
  return {
    access: { name: `${accessPrefix}keycard_access`, attributes: { ...base, path: '/' } },
    refresh: {
      name: `${secure ? '__Secure-' : ''}keycard_refresh`,
      attributes: { ...base, path: options.jwt?.refreshPath ?? '/auth/refresh' },
    },
  };
}

export function setTokenCookie(cookie: TokenCookie, value: string, maxAgeSeconds: number): string {
  return serializeCookie(cookie.name, value, { ...cookie.attributes, maxAgeSeconds });
}

export function clearTokenCookie(cookie: TokenCookie): string {
  return serializeCookie(cookie.name, '', { ...cookie.attributes, maxAgeSeconds: 0 });
}
