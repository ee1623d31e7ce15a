/**
 * Every cookie keycard sets, named and shaped in one place. Secure cookies get the `__Host-` prefix (or
 * `__Secure-` when a Domain is configured), which a browser only accepts from a secure origin with Path=/,
 * so a sibling subdomain or a plain-http page cannot plant or overwrite them (RFC 6265bis §4.1.3). The
 * refresh cookie goes only to the refresh path, so it is never sent with ordinary requests — which rules
 * out `__Host-` (it needs Path=/), hence `__Secure-`. The pre-login CSRF cookie never takes a Domain.
 *
 * Both variants (secure and not) are built once per keycard; a request only picks one.
 */
import { isLocalhost, type RequestInfo } from '../http/request.js';
import type { ResolvedOptions } from '../options.js';
import { type CookieAttributes, serializeCookie } from './serialize.js';

export interface CookieSpec {
  readonly name: string;
  readonly attributes: CookieAttributes;
  /** The complete Set-Cookie value that deletes this cookie (same name, path and domain). */
  readonly deletion: string;
}

export interface CookieSet {
  /** The session strategy's token. */
  readonly session: CookieSpec;
  /** The token strategies' access token (cookie transport). */
  readonly access: CookieSpec;
  /** The token strategies' refresh token (cookie transport), sent to the refresh path only. */
  readonly refresh: CookieSpec;
  /** The random id CSRF tokens are bound to before there is a login. */
  readonly csrf: CookieSpec;
}

export type CookiePolicy = (request: RequestInfo) => CookieSet;

function spec(name: string, attributes: CookieAttributes): CookieSpec {
  return { name, attributes, deletion: serializeCookie(name, '', { ...attributes, maxAgeSeconds: 0 }) };
}

function cookieSet(options: ResolvedOptions, secure: boolean): CookieSet {
  const { name, sameSite, domain } = options.cookie;
  const hostPrefix = secure ? (domain === undefined ? '__Host-' : '__Secure-') : '';
  const base = { httpOnly: true, secure, sameSite, domain } as const;
  return {
    session: spec(hostPrefix + name, { ...base, path: '/' }),
    access: spec(`${hostPrefix}keycard_access`, { ...base, path: '/' }),
    refresh: spec(`${secure ? '__Secure-' : ''}keycard_refresh`, {
      ...base,
      path: options.jwt?.refreshPath ?? '/auth/refresh',
    }),
    csrf: spec(`${secure ? '__Host-' : ''}keycard_csrf`, { httpOnly: true, secure, sameSite, path: '/' }),
  };
}

/**
 * The cookies for a request: Secure when configured so, or (`secure: 'auto'`) when the request came over
 * HTTPS or from anywhere but localhost.
 */
export function createCookiePolicy(options: ResolvedOptions): CookiePolicy {
  const secure = cookieSet(options, true);
  const insecure = cookieSet(options, false);
  const setting = options.cookie.secure;
  if (setting !== 'auto') return setting ? () => secure : () => insecure;
  return (request) => (request.secure || !isLocalhost(request.header('host')) ? secure : insecure);
}

/** The Set-Cookie value that stores `value`; without `maxAgeSeconds` it is a browser-session cookie. */
export function writeCookie(cookie: CookieSpec, value: string, maxAgeSeconds?: number): string {
  return serializeCookie(cookie.name, value, { ...cookie.attributes, maxAgeSeconds });
}
