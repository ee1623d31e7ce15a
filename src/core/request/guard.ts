/**
 * The one place that decides whether a request may act from where it came: the Origin / Fetch-Metadata
 * check and the CSRF token, for ordinary requests, logins and refreshes alike. Adapters, `keycard serve`
 * and `signIn` all come here; none of them carries its own copy of these rules.
 */
import { readCookie } from '../cookies/parse.js';
import type { CookiePolicy } from '../cookies/policy.js';
import { writeCookie } from '../cookies/policy.js';
import { needsCSRFToken } from '../csrf/policy.js';
import { createCSRFToken, verifyCSRFToken } from '../csrf/token.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import { checkRequestOrigin } from '../http/origin.js';
import { isSafeMethod, type RequestInfo } from '../http/request.js';
import type { ResolvedOptions } from '../options.js';
import { generateId } from '../random-tokens.js';
import { requestEvent } from './events.js';
import { type AuthState, loginIdOf } from './state.js';

export interface GuardDependencies {
  options: ResolvedOptions;
  cookies: CookiePolicy;
  emit: EventEmitter;
  /** True when the strategy's credentials travel in cookies. */
  usesCookies: boolean;
}

export interface GuardCheck {
  /**
   * `request`: an ordinary request, checked only when a cookie carried its credential and it is unsafe.
   * `login`: always checked (login CSRF), whatever the request carries. `refresh`: the origin only, for
   * the cookie transport (the refresh cookie, or a token in the body, would sign this browser in).
   */
  action: 'request' | 'login' | 'refresh';
  /** The CSRF token the request submitted (`X-CSRF-Token` header or `_csrf` field). */
  submitted: string | undefined;
  /** The CSRF cookie binding, when the caller already read it (see `csrfBinding`). */
  binding?: string | null;
  /** Skip the origin check (an adapter option, for apps that run their own). Default false. */
  skipOrigin?: boolean;
  /** Skip the CSRF token check (an adapter option). Default false; logins are always checked. */
  skipCSRF?: boolean;
}

/** The pre-login CSRF cookie's id, when the request carries a well-formed one. */
export function preLoginId(deps: GuardDependencies, request: RequestInfo): string | null {
  const read = readCookie(request.header('cookie'), deps.cookies(request).csrf.name);
  return read.status === 'present' && /^[A-Za-z0-9_-]{22}$/.test(read.value) ? read.value : null;
}

/**
 * What CSRF tokens of this request are bound to: the cookie-borne login's id, else the pre-login
 * cookie's id — made here, with the cookie to set, when `create` and there is none.
 */
export function csrfBinding(
  deps: GuardDependencies,
  request: RequestInfo,
  state: AuthState,
  create: boolean,
): { binding: string | null; cookie: string | null } {
  const loginId = loginIdOf(state);
  if (state.cookieBorne && loginId) return { binding: `login:${loginId}`, cookie: null };
  const existing = preLoginId(deps, request);
  if (existing !== null || !create)
    return { binding: existing === null ? null : `pre:${existing}`, cookie: null };
  const id = generateId();
  return { binding: `pre:${id}`, cookie: writeCookie(deps.cookies(request).csrf, id) };
}

/** A CSRF token for `binding`, for a form's `_csrf` field or an `X-CSRF-Token` header. */
export function issueCSRFToken(deps: GuardDependencies, binding: string): string {
  return createCSRFToken(deps.options.csrf.secrets[0] as Buffer, binding);
}

/**
 * Throws the refusal for a request that may not act from where it came — `cross_site_request` (403) for
 * another site's unsafe request, `csrf_rejected` (403) for a browser's unsafe request without a valid
 * token bound to its login (or, before login, its pre-login cookie) — and emits the audit event. Requests
 * without `Origin` / `Sec-Fetch-Site` come from no browser page and pass the token check.
 */
export function guard(
  deps: GuardDependencies,
  request: RequestInfo,
  state: AuthState,
  check: GuardCheck,
): void {
  const { action } = check;
  // The common request: nothing to decide (no cookie-borne credential, or a safe method, which neither
  // check refuses).
  if (action === 'request' && (!state.cookieBorne || isSafeMethod(request.method))) return;
  if (action === 'refresh' && !deps.usesCookies) return;
  const event = { method: request.method, userId: state.user?.id ?? null, sessionId: loginIdOf(state) };
  if (!check.skipOrigin && checkRequestOrigin(request, deps.options.trustedOrigins) === 'cross_site') {
    deps.emit({
      type: 'cross_site_rejected',
      ...event,
      // The path only, never the query: it may carry anything.
      ...(request.path === undefined ? {} : { path: request.path().slice(0, 256) }),
      ...requestEvent(request),
    });
    throw new KeycardError(
      'cross_site_request',
      action === 'login' ? 'cross-site login refused' : 'cross-site request refused',
    );
  }
  if (action === 'refresh' || (check.skipCSRF && action === 'request')) return;
  if (!deps.options.csrf.enabled || !deps.usesCookies || !needsCSRFToken(request)) return;
  const token = check.submitted;
  const binding =
    check.binding !== undefined ? check.binding : csrfBinding(deps, request, state, false).binding;
  if (token !== undefined && binding !== null && verifyCSRFToken(deps.options.csrf.secrets, binding, token))
    return;
  const reason = token === undefined ? 'missing_token' : 'invalid_token';
  deps.emit({ type: 'csrf_rejected', reason, ...event, ...requestEvent(request) });
  throw new KeycardError(
    'csrf_rejected',
    token === undefined
      ? 'this request needs a CSRF token (X-CSRF-Token header or _csrf field; GET /auth/csrf gives one)'
      : 'the CSRF token is invalid for this login; fetch a new one from GET /auth/csrf',
  );
}
