/**
 * Usernames are compared in one canonical form so that `Alice`, `alice` and `ａｌｉｃｅ` (fullwidth) are the
 * same account and cannot be registered twice. In the spirit of RFC 8265's UsernameCaseMapped profile:
 * NFKC (which also maps fullwidth forms), then Unicode default case folding via `toLowerCase()` (locale-
 * independent), then NFKC again because lower-casing can denormalise. The canonical form is what is stored
 * and shown.
 *
 * Allowed after normalisation: 1–64 code points of letters, marks, digits and `. _ - @ +`; no spaces,
 * controls, format characters (zero-width joiners, bidi overrides) or other symbols that make two names
 * look alike or break logs.
 */

export const USERNAME_MAX_LENGTH = 64;

const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}._@+-]+$/u;

export type UsernameCheck = { ok: true; username: string } | { ok: false; reason: string };

export function normalizeUsername(input: unknown): UsernameCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'username must be a string' };
  // Cheap bound before normalisation: NFKC can expand a code point up to 18 times.
  if (input.length === 0) return { ok: false, reason: 'username must not be empty' };
  if (input.length > USERNAME_MAX_LENGTH * 4) {
    return { ok: false, reason: `username must be at most ${USERNAME_MAX_LENGTH} characters` };
  }
  const username = input.normalize('NFKC').toLowerCase().normalize('NFKC');
  let length = 0;
  for (const _ of username) length++;
  if (length > USERNAME_MAX_LENGTH) {
    return { ok: false, reason: `username must be at most ${USERNAME_MAX_LENGTH} characters` };
  }
  if (!USERNAME_PATTERN.test(username)) {
    return { ok: false, reason: 'username may contain only letters, digits and . _ - @ +' };
  }
  return { ok: true, username };
}

/** Roles are short lower-case identifiers; `admin` is the one the server's admin routes require. */
const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export function isValidRole(role: unknown): role is string {
  return typeof role === 'string' && ROLE_PATTERN.test(role);
}
