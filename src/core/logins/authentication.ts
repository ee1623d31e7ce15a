/**
 * How and when a login was authenticated (docs/mfa.md, "What a login records"): the methods used (`amr`,
 * RFC 8176's values), when it signed in, and when a second factor was last shown — at sign-in or by a
 * step-up. Kept in the login's data under a reserved key, like the cookie lifetime (cookie-lifetime.ts):
 * every store keeps data as JSON, so no schema changes, and the session object neither shows it nor lets
 * an app write it. Step-up decisions read it from the login record; access tokens carry it as the `amr`
 * and `auth_time` claims.
 */
import type { LoginRecord } from '../store.js';

export const AUTHENTICATION_KEY = 'keycard_auth';

/** RFC 8176 method references keycard uses. */
export type AuthMethod = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa';

export interface Authentication {
  amr: AuthMethod[];
  /** When the login signed in (ms). */
  at: number;
  /** When a second factor was last shown on this login (ms); null when never. */
  mfaAt: number | null;
  /** When the password (or a second factor) was last shown on this login (ms): sign-in or step-up. */
  verifiedAt: number;
}

/** The login's authentication record, or null for a login from before it was recorded (or anonymous). */
export function authenticationOf(login: LoginRecord | null): Authentication | null {
  const value = login?.data[AUTHENTICATION_KEY] as Partial<Authentication> | undefined;
  if (!value || typeof value !== 'object' || !Array.isArray(value.amr) || typeof value.at !== 'number') {
    return null;
  }
  return {
    amr: value.amr.filter((method): method is AuthMethod => typeof method === 'string'),
    at: value.at,
    mfaAt: typeof value.mfaAt === 'number' ? value.mfaAt : null,
    verifiedAt: typeof value.verifiedAt === 'number' ? value.verifiedAt : value.at,
  };
}

/** A new login's record: a second factor among `amr` counts as shown now. */
export function newAuthentication(amr: readonly AuthMethod[], now: number): Authentication {
  const secondFactor = amr.some((method) => method !== 'pwd' && method !== 'user');
  const methods = [...new Set(amr)];
  if (methods.length > 1 && !methods.includes('mfa')) methods.push('mfa');
  return { amr: methods, at: now, mfaAt: secondFactor ? now : null, verifiedAt: now };
}

/** `data` with the login's record set when one is given (left as it is otherwise: a regenerated session). */
export function withAuthentication(
  data: Record<string, unknown>,
  authentication: Authentication | undefined,
): Record<string, unknown> {
  if (authentication === undefined) return data;
  return { ...data, [AUTHENTICATION_KEY]: authentication };
}
