/**
 * The session strategy: the token travels in the session cookie, the login is a session record read once
 * per request, and session data is saved as per-key patches.
 */

import { readCookie } from '../cookies/parse.js';
import type { CookiePolicy } from '../cookies/policy.js';
import { writeCookie } from '../cookies/policy.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import type { RequestInfo } from '../http/request.js';
import { isBrowserSession, type LoginLifetime, withCookieLifetime } from '../logins/cookie-lifetime.js';
import type { LoginRegistry } from '../logins/registry.js';
import type { ResolvedOptions } from '../options.js';
import type { AuthUser, LoginRecord } from '../store.js';
import { endLoginsOverLimit, requestEvent } from './events.js';
import { ANONYMOUS, type AuthState, refused, withLogin } from './state.js';
import type { Strategy } from './strategy.js';

export interface SessionStrategyDependencies {
  options: ResolvedOptions;
  logins: LoginRegistry;
  cookies: CookiePolicy;
  emit: EventEmitter;
}

/** The state of a request carrying `session`, plus the cookies this step writes. */
function carrying(session: LoginRecord, cookies?: readonly string[]): AuthState {
  return withLogin(session.user, session, null, true, cookies);
}

export function createSessionStrategy(deps: SessionStrategyDependencies): Strategy {
  const { options, logins, cookies, emit } = deps;
  const maxAge = options.cookie.persistent ? Math.floor(options.session.absoluteTimeoutMs / 1000) : undefined;

  /**
   * Creates a session under a fresh token and sets the cookie: persistent unless the login chose a
   * browser-session cookie, a choice the record keeps (so a regenerated session keeps it too).
   */
  const start = async (
    request: RequestInfo,
    user: AuthUser | null,
    data: Record<string, unknown>,
    lifetime: LoginLifetime = { persistent: true },
  ): Promise<AuthState> => {
    const { token, login: session } = await logins.create({
      user,
      data: withCookieLifetime(data, lifetime),
      userAgent: request.header('user-agent') ?? null,
      ip: request.ip,
    });
    const age = isBrowserSession(session) ? undefined : maxAge;
    return carrying(session, [writeCookie(cookies(request).session, token, age)]);
  };

  return {
    name: 'session',
    usesCookies: true,

    load(request) {
      const cookie = cookies(request).session;
      const read = readCookie(request.header('cookie'), cookie.name);
      if (read.status === 'absent') return ANONYMOUS;
      if (read.status === 'duplicate') return refused('duplicate_cookie', cookie.deletion);
      return logins
        .validate(read.value)
        .then((result) => (result.ok ? carrying(result.login) : refused(result.reason, cookie.deletion)));
    },

    // The pre-login session (if any) is destroyed first, so a token planted before login (session
    // fixation) is worthless afterwards.
    async login(request, state, user, data, lifetime) {
      if (state.login) await logins.destroy(state.login.id);
      const owner = { id: user.id, username: user.username, role: user.role };
      const next = await start(request, owner, data, lifetime);
      const login = next.login as LoginRecord;
      emit({ type: 'login_succeeded', userId: user.id, sessionId: login.id, ...requestEvent(request) });
      await endLoginsOverLimit(deps, user.id, request);
      return next;
    },

    async logout(request, state) {
      const cleared = { ...ANONYMOUS, cookies: [cookies(request).session.deletion] };
      const session = state.login;
      if (!session) return { state: cleared, ended: false };
      const ended = await logins.destroy(session.id);
      if (ended) {
        emit({
          type: 'logout',
          userId: session.user?.id ?? null,
          sessionId: session.id,
          ...requestEvent(request),
        });
      }
      return { state: cleared, ended };
    },

    async refresh(_request, state) {
      return {
        state,
        outcome: { ok: false, code: 'token_invalid', reason: 'the session strategy has no refresh tokens' },
      };
    },

    async regenerate(request, state, data) {
      const previous = state.login;
      if (previous) await logins.destroy(previous.id);
      return start(request, previous?.user ?? null, data, { persistent: !isBrowserSession(previous) });
    },

    async reload(state) {
      if (!state.login) return state;
      const fresh = await options.store.getLogin(state.login.id);
      return fresh ? carrying(fresh) : ANONYMOUS;
    },

    save(request, state, patch, data) {
      const session = state.login;
      if (!session) return data ? start(request, null, data) : undefined;
      if (!patch && !logins.isTouchDue(session)) return undefined;
      return logins.save(session, patch).then((saved) => (saved ? carrying(session) : null));
    },
  };
}

/** The session strategy keeps server state; the token strategies refuse what needs it, saying so. */
export function needsSessionStrategy(what: string): KeycardError {
  return new KeycardError(
    'internal_error',
    `${what} needs the session strategy: the jwt strategy keeps no server state per request`,
  );
}
