/**
 * CORS (the Fetch standard's CORS protocol) for front ends on other origins, decided from the same
 * `trustedOrigins` list as the cross-site check (origin.ts): one list says which other origins may use the
 * API with the browser's credentials. Hosts only translate the decision (`keycard serve`, `keycard/fetch`).
 *
 * What this never does, and why:
 * - `Access-Control-Allow-Origin: *`: with credentials the Fetch standard forbids it, and without them it
 *   would tell every site it may read the answers. Only an origin in the list is echoed back.
 * - Match by prefix, suffix or pattern: `https://app.example.com.evil.test` is not `https://app.example.com`.
 *   The list holds serialized origins (options.ts normalises them as URL.origin does) and the header is
 *   compared as sent, exactly as the cross-site check compares it.
 * - Weaken the CSRF defences: an allowed origin may read answers and send credentials; an unsafe request
 *   with a cookie-borne credential still needs its CSRF token (guard.ts). A non-preflight request from an
 *   origin not in the list gets no CORS headers, so the browser keeps the answer from the page; the guard
 *   refuses it before it acts if it is unsafe and cookie-authenticated.
 */
import { KeycardError } from '../errors.js';
import type { RequestInfo } from './request.js';

/**
 * The methods of the auth API's route table (src/api/routes.ts, `ApiRoute.method`) and HEAD, which every
 * GET answers; test/core/cors.test.ts fails when the table uses a method not listed here.
 */
export const CORS_ALLOWED_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'POST',
  'PATCH',
  'DELETE',
]);

/**
 * The request headers the API reads that a browser does not let a page send cross-origin without asking:
 * `Content-Type` (application/json is not a "simple" type), `X-CSRF-Token` (the cookie transport's CSRF
 * token) and `Authorization` (the header transport's Bearer token; client credentials' Basic). `Accept`
 * and `Content-Language` are safelisted and need no listing; `Cookie` is the browser's own.
 */
export const CORS_ALLOWED_HEADERS: readonly string[] = Object.freeze([
  'Content-Type',
  'X-CSRF-Token',
  'Authorization',
]);

/**
 * The response headers a page may read beyond the safelisted ones (Content-Type, Content-Length, …):
 * `Retry-After` only, so a client throttled with 429 knows when to try again. Every other answer a client
 * needs is in the JSON body (error codes, `csrf_token`, tokens, `expires_in`); `X-Keycard-*` belong to
 * forward auth (GET /auth/verify), which a reverse proxy reads and CORS does not govern; `Set-Cookie`
 * can never be exposed.
 */
export const CORS_EXPOSED_HEADERS: readonly string[] = Object.freeze(['Retry-After']);

/**
 * How long a browser may reuse a preflight answer, in seconds. Short, so that removing an origin from the
 * list takes effect within minutes; Chromium caps it at 7200 anyway.
 */
export const CORS_MAX_AGE_SECONDS = 600;

/** The longest Origin a refusal repeats; browsers send far shorter ones (scheme, host and port). */
const MAX_QUOTED_ORIGIN = 120;

export type CORSDecision =
  /** Answer the request as usual, with these headers added (possibly none). */
  | { readonly action: 'continue'; readonly headers: Readonly<Record<string, string>> }
  /** A preflight from a trusted origin: answer 204 with these headers, without running any route. */
  | { readonly action: 'preflight'; readonly headers: Readonly<Record<string, string>> }
  /** A preflight from an origin not in the list: answer `error` (403) with these headers. */
  | {
      readonly action: 'refuse';
      readonly headers: Readonly<Record<string, string>>;
      readonly error: KeycardError;
    };

const NOTHING: CORSDecision = Object.freeze({ action: 'continue', headers: Object.freeze({}) });
const VARY_ORIGIN = Object.freeze({ vary: 'Origin' });
/**
 * With trusted origins configured, whether an answer carries CORS headers depends on Origin, so every
 * answer says so (Vary: Origin); otherwise a shared cache could hand an answer stored for one origin —
 * or for none — to another (the JWKS is publicly cacheable).
 */
const VARY_ONLY: CORSDecision = Object.freeze({ action: 'continue', headers: VARY_ORIGIN });

const PREFLIGHT_LISTS = Object.freeze({
  'access-control-allow-methods': CORS_ALLOWED_METHODS.join(', '),
  'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
  'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
});
const EXPOSED = CORS_EXPOSED_HEADERS.join(', ');

/**
 * The CORS headers for a request, or the answer to its preflight. `trustedOrigins` is the keycard's
 * (`keycard.options.trustedOrigins`); null when none is configured. A request without `Origin` costs one
 * header read.
 */
export function decideCORS(
  request: Pick<RequestInfo, 'method' | 'header'>,
  trustedOrigins: ReadonlySet<string> | null,
): CORSDecision {
  const origin = request.header('origin');
  const unchanged = trustedOrigins === null ? NOTHING : VARY_ONLY;
  if (origin === undefined) return unchanged;
  const preflight =
    request.method === 'OPTIONS' && request.header('access-control-request-method') !== undefined;
  if (trustedOrigins?.has(origin)) {
    const allowed = { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
    if (preflight)
      return { action: 'preflight', headers: { ...allowed, ...PREFLIGHT_LISTS, ...VARY_ORIGIN } };
    return {
      action: 'continue',
      headers: { ...allowed, 'access-control-expose-headers': EXPOSED, ...VARY_ORIGIN },
    };
  }
  if (!preflight) return unchanged;
  return {
    action: 'refuse',
    headers: unchanged.headers,
    error: new KeycardError('cors_origin_refused', refusal(origin, trustedOrigins)),
  };
}

/** The refusal's message: the origin refused (quoted safely) and the setting that would allow it. */
function refusal(origin: string, trustedOrigins: ReadonlySet<string> | null): string {
  const setting = 'trustedOrigins (keycard serve: --trusted-origin or KEYCARD_TRUSTED_ORIGINS)';
  if (origin === 'null') {
    return `cross-origin request from the opaque origin 'null' refused (a sandboxed frame, a file: or data: page, or a redirect); it cannot be trusted: serve the front end from an https origin and add that to ${setting}`;
  }
  const quoted = quote(origin);
  if (trustedOrigins === null) {
    return `cross-origin request from '${quoted}' refused: no origin is trusted; if this is your front end, add it to ${setting}`;
  }
  return `cross-origin request from '${quoted}' refused: it is not a trusted origin (scheme, host and port must all match one exactly); if this is your front end, add it to ${setting}`;
}

/** The origin as printable ASCII, cut to a sane length: it comes from the client and goes into a log. */
function quote(origin: string): string {
  const printable = origin.replace(/[^\x20-\x7e]|'/g, '?');
  return printable.length > MAX_QUOTED_ORIGIN ? `${printable.slice(0, MAX_QUOTED_ORIGIN)}…` : printable;
}
