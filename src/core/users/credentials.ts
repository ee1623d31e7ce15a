/**
 * The sign-in body's rule, in one place: `keycard.signIn` applies it, so `keycard serve` and every app that
 * hands its parsed request body to `signIn` refuse the same malformed input with the same 400, naming the
 * field — before any throttling counter, user read or password hash is spent on it.
 */
import { KeycardError } from '../errors.js';
import { USERNAME_MAX_LENGTH } from './username.js';

/**
 * Longest username accepted as input: NFKC may expand what was typed, so the bound before normalisation is
 * four times the canonical limit (normalizeUsername checks the same).
 */
export const MAX_USERNAME_INPUT_LENGTH = USERNAME_MAX_LENGTH * 4;

/** Passwords longer than this are not even hashed: they cannot be valid under any policy we allow. */
export const MAX_PASSWORD_INPUT_LENGTH = 4096;

export interface Credentials {
  username: string;
  password: string;
  /**
   * `remember`: true for persistent cookies (Max-Age within the preset's lifetimes), false for
   * browser-session cookies that end when the browser does; undefined when the body did not say.
   */
  remember: boolean | undefined;
}

/**
 * `body` as sign-in credentials: an object whose `username` and `password` are non-empty strings within
 * the limits. Anything else throws `invalid_request` (400) with the field at fault. The values are not
 * echoed in the message: a password typed into the username field must not travel back.
 */
export function readCredentials(body: unknown): Credentials {
  if (body === undefined || body === null) {
    throw new KeycardError('invalid_request', 'send a JSON or form body with username and password');
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new KeycardError('invalid_request', 'the body must be an object with username and password');
  }
  const fields = body as Record<string, unknown>;
  return {
    username: requiredString(fields, 'username', MAX_USERNAME_INPUT_LENGTH),
    password: requiredString(fields, 'password', MAX_PASSWORD_INPUT_LENGTH),
    remember: optionalBoolean(fields, 'remember'),
  };
}

/** A JSON boolean, or what an HTML form sends for a checkbox or hidden field ('on', 'true', 'false'). */
function optionalBoolean(fields: Record<string, unknown>, name: string): boolean | undefined {
  const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (value === undefined) return undefined;
  if (value === true || value === 'true' || value === 'on') return true;
  if (value === false || value === 'false') return false;
  throw new KeycardError('invalid_request', `${name} must be true or false`, { field: name });
}

function requiredString(fields: Record<string, unknown>, name: string, maxLength: number): string {
  // Own properties only: `{}` inherits nothing a client did not send.
  const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (value === undefined || value === '') {
    throw new KeycardError('invalid_request', `${name} is required`, { field: name });
  }
  if (typeof value !== 'string') {
    throw new KeycardError('invalid_request', `${name} must be a string`, { field: name });
  }
  if (value.length > maxLength) {
    throw new KeycardError('invalid_request', `${name} must be at most ${maxLength} characters`, {
      field: name,
    });
  }
  return value;
}
