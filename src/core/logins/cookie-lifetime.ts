/**
 * A login's cookie lifetime: persistent cookies (Max-Age within the preset's lifetimes) or browser-session
 * cookies that end when the browser does ("Keep me signed in" left unchecked). The choice is made once, at
 * sign-in, and every cookie of the login written later — a token refresh, a regenerated session — must
 * keep it, so the login record carries it: under a reserved key of its data, which every store already
 * keeps as JSON (no schema change), and which the session object neither shows nor lets an app write.
 */
import type { LoginRecord } from '../store.js';
import { type Authentication, withAuthentication } from './authentication.js';

/** The data key that marks a browser-session login; absent (every login before this existed) = persistent. */
export const BROWSER_SESSION_KEY = 'keycard_browser_session';

/** True when the login's cookies are browser-session cookies. */
export function isBrowserSession(login: LoginRecord | null): boolean {
  return login?.data[BROWSER_SESSION_KEY] === true;
}

/** How a login starts: its cookie lifetime, and (at a sign-in) how it was authenticated. */
export interface LoginLifetime {
  persistent: boolean;
  /** Set at a sign-in (logins/authentication.ts); absent when a session is regenerated: kept as it was. */
  authentication?: Authentication;
}

/**
 * `data` with the marker set for a browser-session login, and removed otherwise (an app cannot plant it);
 * and with the login's authentication record when the login is a sign-in.
 */
export function withCookieLifetime(
  data: Record<string, unknown>,
  lifetime: LoginLifetime,
): Record<string, unknown> {
  const { [BROWSER_SESSION_KEY]: _ignored, ...rest } = withAuthentication(data, lifetime.authentication);
  return lifetime.persistent ? rest : { ...rest, [BROWSER_SESSION_KEY]: true };
}
