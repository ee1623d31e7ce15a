/**
 * The contract every strategy (session, token, hybrid) meets: functions from a request and its current
 * state to the next state. A strategy is made once per keycard; nothing in it belongs to one request.
 */
import type { RequestInfo } from '../http/request.js';
import type { LoginLifetime } from '../logins/cookie-lifetime.js';
import type { AuthUser, DataPatch, LoginRecord } from '../store.js';
import type { AuthState } from './state.js';

export type RefreshOutcome =
  | { ok: true; login: LoginRecord }
  | { ok: false; code: 'token_invalid' | 'refresh_token_reused'; reason: string }
  /** The login has used up its rotations for the window (`throttle.refresh.maxPerLogin`); nothing changed. */
  | { ok: false; code: 'too_many_requests'; reason: string; retryAfterSeconds: number };

export interface Strategy {
  readonly name: 'session' | 'token';
  /** True when credentials travel in cookies (session strategy, or the cookie transport). */
  readonly usesCookies: boolean;
  /** Reads and checks the request's credential; a plain value when it finished without waiting. */
  load(request: RequestInfo): AuthState | Promise<AuthState>;
  /**
   * Signs `user` in under fresh credentials, ending the login `state` carried; `data` is carried over.
   * `persistent`: the login's cookies get a Max-Age (false: browser-session cookies, kept so on re-set).
   */
  login(
    request: RequestInfo,
    state: AuthState,
    user: AuthUser,
    data: Record<string, unknown>,
    lifetime: LoginLifetime,
  ): Promise<AuthState>;
  /** Ends the login `state` carries (or, for an expired access token, the one it names). */
  logout(request: RequestInfo, state: AuthState): Promise<{ state: AuthState; ended: boolean }>;
  /** Exchanges a refresh token (the refresh cookie, or `presented` for header clients). */
  refresh(
    request: RequestInfo,
    state: AuthState,
    presented: string | undefined,
  ): Promise<{ state: AuthState; outcome: RefreshOutcome }>;
  /** Session strategy: the same user and data under a fresh token. */
  regenerate(request: RequestInfo, state: AuthState, data: Record<string, unknown>): Promise<AuthState>;
  /** Session strategy: the login as stored now (ANONYMOUS when it is gone). */
  reload(state: AuthState): Promise<AuthState>;
  /**
   * Saves a data patch and/or the activity touch when due, in at most one store write; starts a pre-login
   * session for data written to an anonymous request. Returns the next state; null when the login was
   * ended meanwhile and nothing was saved; undefined when there was nothing to write (no promise in
   * between, for the common request).
   */
  save(
    request: RequestInfo,
    state: AuthState,
    patch: DataPatch | null,
    /** The data to start a pre-login session with (anonymous requests that wrote data), else null. */
    data: Record<string, unknown> | null,
  ): Promise<AuthState | null> | undefined;
}
