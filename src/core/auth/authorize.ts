/**
 * The checks behind `requireAuth` and `requireRole`, once for every adapter: who must be signed in, with
 * which role, and whether the login must be confirmed live in the store first.
 */
import { KeycardError } from '../errors.js';
import type { AuthContext } from './context.js';

export interface AuthorizeOptions {
  /** One of these roles is needed (403 `forbidden` otherwise). */
  roles?: readonly string[];
  /**
   * Confirm that the login has not ended (`AuthContext.confirmLive`: one store read in the jwt and hybrid
   * strategies, none in the session strategy): `true` always, `'unsafe'` for state-changing methods only
   * (anything but GET, HEAD and OPTIONS), `false` never. `requireRole` defaults to `'unsafe'`, so a
   * revoked admin's unexpired access token cannot act; `requireAuth` to `false`.
   */
  live?: boolean | 'unsafe';
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The 401 for a request without a usable credential, saying why when the request showed one. An expired
 * access token (jwt and hybrid) is `token_expired`, so a client knows to refresh and retry rather than
 * send the user to sign in.
 */
export function unauthenticatedError(context: AuthContext | undefined): KeycardError {
  const problem = context?.problem;
  if (problem === 'expired') {
    return new KeycardError(
      'token_expired',
      'the access token has expired; refresh it (POST /auth/refresh) or sign in again',
    );
  }
  const message =
    problem === 'duplicate_cookie'
      ? 'the request carried two session cookies; both were ignored'
      : problem === 'revoked'
        ? 'this login has been revoked; sign in again'
        : 'sign in first';
  return new KeycardError('unauthenticated', message);
}

/**
 * Throws (or rejects with) the request's refusal: 401 without a user, 403 without the role, 401
 * `token_revoked` for a login that has ended. Returns undefined when nothing needed the store.
 */
export function authorize(
  context: AuthContext | undefined,
  options: AuthorizeOptions = {},
): Promise<void> | undefined {
  const user = context?.user;
  if (!context || !user) throw unauthenticatedError(context);
  const { roles } = options;
  if (roles && !roles.includes(user.role)) {
    throw new KeycardError('forbidden', `this needs the ${roles.join(' or ')} role`);
  }
  const live = options.live ?? false;
  if (live === true || (live === 'unsafe' && !SAFE_METHODS.has(context.request.method))) {
    return context.confirmLive();
  }
  return undefined;
}
