/**
 * The token strategies (jwt, and hybrid with its revocation check). The access token comes from
 * `Authorization: Bearer` (header transport) or the access cookie (cookie transport) and is verified with
 * no store I/O; login, refresh and logout touch the store. There is no per-request server state.
 */

import { readCookie } from '../cookies/parse.js';
import type { CookiePolicy, CookieSet } from '../cookies/policy.js';
import { writeCookie } from '../cookies/policy.js';
import type { EventEmitter } from '../events.js';
import type { RequestInfo } from '../http/request.js';
import { type IssuedLogin, type TokenService, userFromClaims } from '../jwt/token-service.js';
import { isBrowserSession, withCookieLifetime } from '../logins/cookie-lifetime.js';
import type { LoginRegistry } from '../logins/registry.js';
import type { ResolvedOptions } from '../options.js';
import type { RevocationMonitor } from '../revocation/monitor.js';
import { endLoginsOverLimit, requestEvent } from './events.js';
import { needsSessionStrategy } from './session.js';
import { ANONYMOUS, type AuthState, loginIdOf, refused, withLogin } from './state.js';
import type { Strategy } from './strategy.js';

export interface TokenStrategyDependencies {
  options: ResolvedOptions;
  tokens: TokenService;
  logins: LoginRegistry;
  cookies: CookiePolicy;
  emit: EventEmitter;
  /** Hybrid strategy: the revocation check run after a token verifies. */
  revocations: RevocationMonitor | null;
}

/** RFC 6750 §2.1: `Bearer` (any case), one space, a b64token. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

type Presented = { token: string | null; problem: AuthState | null };

export function createTokenStrategy(deps: TokenStrategyDependencies): Strategy {
  const { options, tokens, logins, cookies, emit, revocations } = deps;
  const usesCookies = tokens.options.transport === 'cookie';

  /** The access token the request shows, or the refusal of a malformed or ambiguous one. */
  const presented = (request: RequestInfo): Presented => {
    if (!usesCookies) {
      const header = request.header('authorization');
      if (header === undefined) return { token: null, problem: null };
      const match = BEARER.exec(header);
      return match
        ? { token: match[1] as string, problem: null }
        : { token: null, problem: refused('malformed') };
    }
    const access = cookies(request).access;
    const read = readCookie(request.header('cookie'), access.name);
    if (read.status === 'duplicate')
      return { token: null, problem: refused('duplicate_cookie', access.deletion) };
    return { token: read.status === 'present' ? read.value : null, problem: null };
  };

  /** Deletes both token cookies (cookie transport). */
  const clearing = (set: CookieSet | null): string[] =>
    set ? [set.access.deletion, set.refresh.deletion] : [];

  /** Hands new tokens to the client: cookies, or the response body for header clients. */
  const issuedState = (request: RequestInfo, issued: IssuedLogin): AuthState => {
    const refreshExpiresIn = Math.max(0, Math.floor((issued.refreshExpiresAt - options.clock.now()) / 1000));
    const accessExpiresIn = Math.max(0, (issued.claims.exp as number) - (issued.claims.iat as number));
    const base = { ...ANONYMOUS, user: issued.login.user, login: issued.login, claims: issued.claims };
    if (usesCookies) {
      const set = cookies(request);
      // A login that chose browser-session cookies keeps them at every refresh: no Max-Age, ever.
      const session = isBrowserSession(issued.login);
      // The new login's own credentials now travel in cookies: CSRF tokens made from here on (the login
      // response's `csrf_token`) are bound to it, not to the pre-login cookie.
      return {
        ...base,
        cookieBorne: true,
        cookies: [
          writeCookie(set.access, issued.accessToken, session ? undefined : accessExpiresIn),
          writeCookie(set.refresh, issued.refreshToken, session ? undefined : refreshExpiresIn),
        ],
      };
    }
    return {
      ...base,
      tokens: {
        access_token: issued.accessToken,
        token_type: 'Bearer',
        expires_in: accessExpiresIn,
        refresh_token: issued.refreshToken,
        refresh_expires_in: refreshExpiresIn,
      },
    };
  };

  const cleared = (request: RequestInfo): AuthState => ({
    ...ANONYMOUS,
    cookies: clearing(usesCookies ? cookies(request) : null),
  });

  return {
    name: 'token',
    usesCookies,

    // Synchronous except when the hybrid strategy's feed is out of step and the revocation check has to
    // ask the store.
    load(request) {
      const { token, problem } = presented(request);
      if (problem) return problem;
      if (token === null) return ANONYMOUS;
      const result = tokens.verifyAccessToken(token);
      const user = result.ok ? userFromClaims(result.claims) : null;
      const deletion = usesCookies ? [cookies(request).access.deletion] : [];
      if (!result.ok || !user) {
        // An expired token keeps its cookie: the refresh route still reads the login id from it.
        return !result.ok && result.code === 'token_expired'
          ? refused('expired')
          : refused('invalid', ...deletion);
      }
      const accepted = withLogin(user, null, result.claims, usesCookies);
      if (!revocations) return accepted;
      // Hybrid: a memory lookup while the feed is in step; a store read (or 503) while it is not.
      const sid = typeof result.claims.sid === 'string' ? result.claims.sid : '';
      const issuedAt = (typeof result.claims.iat === 'number' ? result.claims.iat : 0) * 1000;
      const verdict = revocations.check(sid, user.id, issuedAt);
      if (typeof verdict === 'boolean') return verdict ? refused('revoked', ...deletion) : accepted;
      return verdict.then((revoked) => (revoked ? refused('revoked', ...deletion) : accepted));
    },

    // A browser signing in again replaces the login its cookies carried, as the session strategy does.
    async login(request, state, user, _data, lifetime) {
      const previous = usesCookies ? loginIdOf(state) : null;
      if (previous) await logins.destroy(previous);
      const issued = await tokens.startLogin(user, {
        userAgent: request.header('user-agent') ?? null,
        ip: request.ip,
        // Header clients keep their tokens as they like: the choice only means something for cookies.
        data: withCookieLifetime({}, { ...lifetime, persistent: lifetime.persistent || !usesCookies }),
      });
      emit({
        type: 'login_succeeded',
        userId: user.id,
        sessionId: issued.login.id,
        ...requestEvent(request),
      });
      await endLoginsOverLimit(deps, user.id, request);
      return issuedState(request, issued);
    },

    async logout(request, state) {
      let loginId = loginIdOf(state);
      if (loginId === null) {
        // An expired but genuine access token still identifies the login to end.
        const { token } = presented(request);
        const result = token === null ? null : tokens.verifyForLogout(token);
        if (result?.ok && typeof result.claims.sid === 'string') loginId = result.claims.sid;
      }
      const next = cleared(request);
      if (loginId === null) return { state: next, ended: false };
      // A login that has already ended (a replayed logout) costs one read and writes nothing.
      const ended = await logins.destroy(loginId);
      if (ended)
        emit({
          type: 'logout',
          userId: state.user?.id ?? null,
          sessionId: loginId,
          ...requestEvent(request),
        });
      return { state: next, ended };
    },

    async refresh(request, state, body) {
      let token = body;
      if (usesCookies) {
        const read = readCookie(request.header('cookie'), cookies(request).refresh.name);
        if (read.status === 'present') token = read.value;
      }
      if (!token) {
        emit({ type: 'refresh_failed', reason: 'missing_token', ...requestEvent(request) });
        return { state, outcome: { ok: false, code: 'token_invalid', reason: 'no refresh token' } };
      }
      const outcome = await tokens.rotate(token);
      if (outcome.status === 'ok') {
        emit({
          type: 'token_refreshed',
          userId: outcome.login.user?.id ?? '',
          sessionId: outcome.login.id,
          ...requestEvent(request),
        });
        return { state: issuedState(request, outcome), outcome: { ok: true, login: outcome.login } };
      }
      if (outcome.status === 'throttled') {
        // Too many rotations for this login: nothing changed, and the client's tokens stay as they were.
        return {
          state,
          outcome: {
            ok: false,
            code: 'too_many_requests',
            reason: 'this login refreshed too often; try again later',
            retryAfterSeconds: outcome.retryAfterSeconds,
          },
        };
      }
      const next = cleared(request);
      if (outcome.status === 'reused') {
        // The whole family ends: the login is deleted and its access tokens revoked.
        await logins.destroy(outcome.login.id);
        emit({
          type: 'refresh_token_reused',
          userId: outcome.login.user?.id ?? '',
          sessionId: outcome.login.id,
          ...requestEvent(request),
        });
        return {
          state: next,
          outcome: {
            ok: false,
            code: 'refresh_token_reused',
            reason: 'a spent refresh token was presented again; the login was revoked',
          },
        };
      }
      emit({ type: 'refresh_failed', reason: 'invalid_token', ...requestEvent(request) });
      return { state: next, outcome: { ok: false, code: 'token_invalid', reason: outcome.reason } };
    },

    async regenerate() {
      throw needsSessionStrategy('regenerate()');
    },

    async reload(state) {
      return state;
    },

    save(_request, _state, patch) {
      if (patch) throw needsSessionStrategy('session data');
      return undefined;
    },
  };
}
