/**
 * What the sign-in page says after a form post sent the browser back to it (POST-redirect-GET): a closed
 * set of codes in `/login?error=`, each with its own text, so nothing a link could carry is shown as text
 * — only the username, escaped, goes back into its input. A failed form sign-in answers 303 to such a URL
 * rather than with a page, so reloading the page never posts the password again.
 */
import type { KeycardError } from 'keycard';
import { MAX_USERNAME_INPUT_LENGTH } from '../../core/users/credentials.js';

/** The longest username `/login?username=` accepts: what a sign-in accepts. */
export const MAX_LOGIN_USERNAME = MAX_USERNAME_INPUT_LENGTH;

/** The longest wait the URL may say (a day): the throttle's waits are minutes. */
export const MAX_RETRY_SECONDS = 86_400;
/** The username kept in the URL: the input's own limit (maxlength). */
const MAX_USERNAME = 256;

const NOTICES = {
  invalid_credentials: () => 'Wrong username or password.',
  account_blocked: () => 'This account is blocked. Ask an administrator.',
  too_many_requests: (seconds?: number) =>
    `Too many failed attempts. Try again ${seconds === undefined ? 'in a few minutes' : `in ${describeWait(seconds)}`}.`,
  signed_out: () => 'You have been signed out. Sign in again.',
  token_invalid: () => 'That sign-in expired or was finished already. Sign in again.',
} as const satisfies Record<string, (seconds?: number) => string>;

export type LoginNoticeCode = keyof typeof NOTICES;

/** The codes `/login?error=` knows (for its OpenAPI description). */
export const LOGIN_NOTICE_CODES = Object.keys(NOTICES) as LoginNoticeCode[];

function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** The sign-in page's URL saying `code`, keeping the username typed and, when throttled, the wait. */
export function loginLocation(
  code: LoginNoticeCode,
  options: { username?: string; retryAfterSeconds?: number } = {},
): string {
  const params = new URLSearchParams({ error: code });
  if (options.username) params.set('username', options.username.slice(0, MAX_USERNAME));
  const retry = options.retryAfterSeconds;
  if (code === 'too_many_requests' && retry !== undefined && Number.isInteger(retry) && retry >= 0) {
    params.set('retry', String(Math.min(retry, MAX_RETRY_SECONDS)));
  }
  return `/login?${params}`;
}

/** Where a refused sign-in form goes: the sign-in page saying why, or null for refusals it does not say. */
export function loginFailureLocation(error: KeycardError, username: string): string | null {
  if (error.code === 'invalid_credentials' || error.code === 'account_blocked') {
    return loginLocation(error.code, { username });
  }
  if (error.code === 'too_many_requests') {
    return loginLocation('too_many_requests', { username, retryAfterSeconds: error.retryAfterSeconds });
  }
  return null;
}

/** The text for `/login?error=&retry=`, or undefined for a code it does not know (then nothing is said). */
export function loginNotice(code: unknown, retry: unknown): string | undefined {
  if (typeof code !== 'string' || !Object.hasOwn(NOTICES, code)) return undefined;
  const seconds =
    typeof retry === 'string' && /^\d{1,6}$/.test(retry)
      ? Math.min(Number(retry), MAX_RETRY_SECONDS)
      : undefined;
  return NOTICES[code as LoginNoticeCode](seconds);
}

/**
 * Where a page's form post goes when it was refused for want of a live login — a tab left open after the
 * login ended (signed out elsewhere, expired, revoked): to the sign-in page, saying so. Only a post from
 * keycard's own pages (`origin` allowed: same-origin, or no browser signal at all): a forged post from
 * another site keeps its 401, so the attacker's page learns nothing new and tests see the refusal. Null:
 * the refusal is answered as usual; a CSRF refusal keeps its 403 page, as forgeries get it. API and JSON
 * clients are never redirected (the caller asks only for form posts).
 */
export function formRefusalLocation(error: KeycardError, origin: 'allowed' | 'cross_site'): string | null {
  if (origin !== 'allowed') return null;
  switch (error.code) {
    case 'unauthenticated':
    case 'token_expired':
    case 'token_invalid':
    case 'token_revoked':
      return loginLocation('signed_out');
    default:
      return null;
  }
}
