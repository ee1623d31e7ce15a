/** What a request that started a login answers (sign-in, sign-up): the user, the login, and its tokens. */
import { type AuthContext, type LoginRecord, toAuthUser, type UserRecord } from 'keycard';
import { toPublicSession } from './input.js';

/**
 * Cookie transport of the jwt and hybrid strategies: the access token's lifetime in seconds, as header
 * clients get it (`expires_in`), so a front end knows when to refresh without reading the cookie. Nothing
 * for the session strategy, whose login slides with use.
 */
export function cookieTokenExpiry(auth: AuthContext): { expires_in: number } | Record<string, never> {
  const { claims } = auth;
  if (!auth.usesCookies || typeof claims?.exp !== 'number' || typeof claims.iat !== 'number') return {};
  return { expires_in: claims.exp - claims.iat };
}

export function loginAnswer(
  auth: AuthContext,
  user: UserRecord,
  login: LoginRecord,
): Record<string, unknown> {
  return {
    user: toAuthUser(user),
    session: toPublicSession(login, login.id),
    // Header transport: the tokens, in OAuth 2.0's token-response shape (RFC 6749 §5.1); cookie
    // transport: when the access token in the cookie expires, so a client can refresh in time.
    ...(auth.tokens ?? cookieTokenExpiry(auth)),
    // Cookie transports: the CSRF token for the new login (the pre-login one no longer applies).
    ...(auth.usesCookies ? { csrf_token: auth.csrfToken() } : {}),
  };
}
