/**
 * Email addresses as keycard keeps them: one normal form, so that `Ada@Example.com ` and
 * `ada@example.com` are one address — for uniqueness, for lookup by a forgotten-password form, and for
 * the mail. The normal form is trimmed, NFC, and lower case as a whole: RFC 5321 lets a mail server treat
 * local parts case-sensitively, but none that people use does, and two accounts told apart only by case
 * would be a trap.
 */
import { KeycardError } from '../errors.js';
import { isMailAddress, MAX_ADDRESS_LENGTH } from '../mail/message.js';

/** The most an address field may hold before it is even looked at. */
export const MAX_EMAIL_INPUT_LENGTH = 320;

export function normalizeEmail(input: unknown, field = 'email'): string {
  if (typeof input !== 'string' || input.length > MAX_EMAIL_INPUT_LENGTH) {
    throw new KeycardError('invalid_request', `${field} must be an email address`, { field });
  }
  const email = input.trim().normalize('NFC').toLowerCase();
  if (!isMailAddress(email)) {
    throw new KeycardError(
      'invalid_request',
      `${field} must be one plain email address such as ada@example.com (at most ${MAX_ADDRESS_LENGTH} characters)`,
      { field },
    );
  }
  return email;
}
