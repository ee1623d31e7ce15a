/**
 * What a strategy knows about one request, as a value: who is signed in, their login, the access token's
 * claims, why a credential was refused, whether a cookie carried it, and the cookies to write. Strategies
 * take a state and return the next one; they hold no reference to the request's context.
 */
import type { JWTClaims } from '../jwt/verify.js';
import type { AuthUser, LoginRecord } from '../store.js';

/** Why a request is not authenticated although it carried a credential. */
export type AuthProblem = 'malformed' | 'unknown' | 'expired' | 'duplicate_cookie' | 'invalid' | 'revoked';

/** Tokens issued to a client that carries them itself (header transport), in OAuth 2.0's shape. */
export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

export interface AuthState {
  readonly user: AuthUser | null;
  /** The login record when it was read (session strategy: always; jwt/hybrid: at login and refresh). */
  readonly login: LoginRecord | null;
  /** The verified access token's claims (jwt and hybrid strategies). */
  readonly claims: JWTClaims | null;
  readonly problem: AuthProblem | null;
  /**
   * True when a valid credential (or an anonymous session) came in a cookie, or was just set in one:
   * unsafe requests then need the cross-site checks, and CSRF tokens are bound to the login.
   */
  readonly cookieBorne: boolean;
  /** Tokens issued by this request's login or refresh, for the response body (header transport). */
  readonly tokens: IssuedTokens | null;
  /** Complete Set-Cookie values this step wants sent, in order. */
  readonly cookies: readonly string[];
}

/** No credential, nothing to write: the common anonymous request. */
export const ANONYMOUS: AuthState = Object.freeze({
  user: null,
  login: null,
  claims: null,
  problem: null,
  cookieBorne: false,
  tokens: null,
  cookies: Object.freeze([]) as readonly string[],
});

const NO_COOKIES: readonly string[] = Object.freeze([]) as readonly string[];

/** A login's state, as a literal (no spread: this runs on every authenticated request). */
export function withLogin(
  user: AuthUser | null,
  login: LoginRecord | null,
  claims: JWTClaims | null,
  cookieBorne: boolean,
  cookies: readonly string[] = NO_COOKIES,
): AuthState {
  return { user, login, claims, problem: null, cookieBorne, tokens: null, cookies };
}

/** A credential was shown and refused; `cookies` clears what carried it. */
export function refused(problem: AuthProblem, ...cookies: string[]): AuthState {
  return { ...ANONYMOUS, problem, cookies };
}

/** The login's id (the JWT `sid`, or the session id), or null. */
export function loginIdOf(state: AuthState): string | null {
  return state.login?.id ?? (typeof state.claims?.sid === 'string' ? state.claims.sid : null);
}
