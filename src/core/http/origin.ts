/**
 * The cross-site check for cookie-authenticated unsafe requests (the first of DESIGN.md's two CSRF
 * defences). Browsers label every request with `Sec-Fetch-Site` (Fetch Metadata) and send `Origin` on
 * every cross-origin POST; a request carrying neither did not come from a page in a browser, so it cannot
 * be a cross-site forgery and is allowed (curl, server-to-server calls).
 */
import { isSafeMethod, type RequestInfo } from './request.js';

export type OriginVerdict = 'allowed' | 'cross_site';

export function checkRequestOrigin(
  request: RequestInfo,
  trustedOrigins: ReadonlySet<string> | null,
): OriginVerdict {
  if (isSafeMethod(request.method)) return 'allowed';
  const site = request.header('sec-fetch-site');
  if (site === 'same-origin' || site === 'none') return 'allowed';
  const origin = request.header('origin');
  // An explicitly trusted origin (a separate front-end host) is allowed although the browser calls it
  // same-site or cross-site.
  if (origin !== undefined && trustedOrigins?.has(origin)) return 'allowed';
  // `same-site` is refused too: a sibling subdomain is a different origin and may be less trusted.
  if (site === 'cross-site' || site === 'same-site') return 'cross_site';
  if (origin === undefined) return 'allowed';
  if (origin === 'null') return 'cross_site'; // opaque origins: sandboxed frames, data: URLs, some redirects
  const host = request.header('host');
  if (!host) return 'cross_site';
  const own = `${request.secure ? 'https' : 'http'}://${host.toLowerCase()}`;
  return sameOrigin(origin, own) ? 'allowed' : 'cross_site';
}

/** Compares two serialized origins after URL normalisation (case, default ports). */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
