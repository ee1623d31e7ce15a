/**
 * When a CSRF token is required: an unsafe request that comes from a browser and is authenticated by a
 * cookie, and every browser login (login CSRF). A request with neither `Origin` nor `Sec-Fetch-Site`
 * did not come from a page in a browser — browsers send at least one on every cross-origin and every
 * unsafe request — so it cannot be a forgery, and API clients and curl need no token.
 */
import type { RequestInfo } from '../http/request.js';
import { isSafeMethod } from '../http/request.js';

export function isBrowserRequest(request: RequestInfo): boolean {
  return request.header('sec-fetch-site') !== undefined || request.header('origin') !== undefined;
}

export function needsCSRFToken(request: RequestInfo): boolean {
  return !isSafeMethod(request.method) && isBrowserRequest(request);
}
