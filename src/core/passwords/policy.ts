/**
 * The rules a new password must meet, after NIST SP 800-63B-4 §3.1.1.2: a minimum length, at least 64
 * characters allowed, no composition rules (no "one digit, one symbol"), and no value from a blocklist of
 * "commonly used, expected, or compromised" passwords — the shipped list of leaked passwords, the
 * operator's own entries, repetitive or sequential characters, and context-specific words (the username,
 * the service's name). Length is counted in Unicode code points after NFKC normalisation.
 *
 * Every reason returned is a message for the user that never contains the password (nor the username,
 * which may be the password).
 */
import { configurationError } from '../errors.js';
import { foldPassword, isBlocklisted, isOnExtraBlocklist } from './blocklist.js';
import { normalizePassword } from './hash.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  /**
   * Refuse known-bad passwords: the shipped list of common and leaked passwords (see docs/users.md),
   * passwords built on the username or the service's name, and repeated or sequential characters.
   * Absent means true, so a policy built by hand is as strict as the default one; false leaves only the
   * length rules and `extraBlocklist`.
   */
  blocklist?: boolean;
  /**
   * More passwords to refuse, compared as the shipped ones are (NFKC, case-insensitive, whole password):
   * the organisation's name, its products, last year's leaked list. Read once per array: replace the
   * array rather than change it.
   */
  extraBlocklist?: readonly string[];
}

/** What is known about the account whose password is being set: its words may not carry the password. */
export interface NewPasswordContext {
  username?: string;
}

/**
 * The longest maxLength allowed: sign-in refuses passwords over 4096 UTF-16 units before hashing, and a
 * code point takes at most two, so any password this policy admits can also be used to sign in.
 */
export const MAX_PASSWORD_LENGTH = 2048;

export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  minLength: 8,
  maxLength: 1024,
});

/** The service's own name is the first word an attacker tries (NIST's "context-specific words"). */
const SERVICE_NAME = 'keycard';

/**
 * Runs along the rows of a QWERTY keyboard, read forwards or backwards. Runs of consecutive code points
 * (abcd, 1234, αβγδ) are found arithmetically; these are the ones that are consecutive only on the keys,
 * including the digit row's 7890.
 */
const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

export function resolvePasswordPolicy(input: Partial<PasswordPolicy> = {}): PasswordPolicy {
  const policy: PasswordPolicy = {
    minLength: input.minLength ?? DEFAULT_PASSWORD_POLICY.minLength,
    maxLength: input.maxLength ?? DEFAULT_PASSWORD_POLICY.maxLength,
  };
  if (!Number.isInteger(policy.minLength) || policy.minLength < 8) {
    throw configurationError('passwords.minLength must be a whole number of at least 8 (NIST SP 800-63B)');
  }
  if (
    !Number.isInteger(policy.maxLength) ||
    policy.maxLength < 64 ||
    policy.maxLength < policy.minLength ||
    policy.maxLength > MAX_PASSWORD_LENGTH
  ) {
    throw configurationError(
      `passwords.maxLength must be from 64 (NIST SP 800-63B) to ${MAX_PASSWORD_LENGTH}, and at least minLength`,
    );
  }
  if (input.blocklist !== undefined) {
    if (typeof input.blocklist !== 'boolean') {
      throw configurationError('passwords.blocklist must be true (the default) or false');
    }
    policy.blocklist = input.blocklist;
  }
  if (input.extraBlocklist !== undefined) {
    const extra: unknown = input.extraBlocklist;
    if (!Array.isArray(extra) || !extra.every((entry) => typeof entry === 'string' && entry !== '')) {
      throw configurationError('passwords.extraBlocklist must be a list of non-empty strings');
    }
    // A frozen copy: the folded Set is cached per array, so the array must not change behind it.
    policy.extraBlocklist = Object.freeze([...(extra as string[])]);
  }
  return policy;
}

/** Code points, not UTF-16 units: an emoji counts as one character. */
function countCharacters(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * True when `word` occurs in `folded` and the rest, without every occurrence of it, is shorter than the
 * minimum length. The word is known to an attacker, so it adds nothing to the password: 'alice2024' is
 * refused for alice, 'alice rides a purple tandem' is not, and a one-letter username does not forbid its
 * letter.
 */
function leansOn(folded: string, word: string, minLength: number): boolean {
  if (word === '' || !folded.includes(word)) return false;
  return countCharacters(folded.split(word).join('')) < minLength;
}

/**
 * True when `folded` is a block repeated (aaaaaaaa, abcabcabc, 19641964, passpass) and the block is shorter
 * than the minimum length: the password is then only as strong as a password the length rule refuses.
 */
function isShortPatternRepeated(folded: string, minLength: number): boolean {
  // The smallest period of s is the first index after 0 where s occurs in s + s.
  const period = (folded + folded).indexOf(folded, 1);
  if (period >= folded.length) return false;
  return countCharacters(folded.slice(0, period)) < minLength;
}

/** True for a run of consecutive code points (abcdefgh, 87654321, αβγδεζηθ) or along a keyboard row. */
function isSequence(folded: string): boolean {
  const points = Array.from(folded, (char) => char.codePointAt(0) ?? 0);
  const step = (points[1] ?? 0) - (points[0] ?? 0);
  if (
    (step === 1 || step === -1) &&
    points.every((point, i) => i === 0 || point - (points[i - 1] ?? 0) === step)
  ) {
    return true;
  }
  const reversed = Array.from(folded).reverse().join('');
  return KEYBOARD_ROWS.some((row) => row.includes(folded) || row.includes(reversed));
}

/**
 * Why `password` cannot be set, as a message for the user, or null when it meets the policy. Pass the
 * account's username in `context` so that passwords built on it are refused.
 */
export function checkNewPassword(
  password: unknown,
  policy: PasswordPolicy,
  context: NewPasswordContext = {},
): string | null {
  if (typeof password !== 'string') return 'password must be a string';
  const length = countCharacters(normalizePassword(password));
  if (length < policy.minLength) return `password must be at least ${policy.minLength} characters`;
  if (length > policy.maxLength) return `password must be at most ${policy.maxLength} characters`;

  const folded = foldPassword(password);
  if (policy.extraBlocklist && isOnExtraBlocklist(folded, policy.extraBlocklist)) {
    return "password is on this service's list of refused passwords";
  }
  if (policy.blocklist === false) return null;
  if (isBlocklisted(folded)) return 'password is too common: it appears in lists of leaked passwords';
  if (context.username !== undefined && leansOn(folded, foldPassword(context.username), policy.minLength)) {
    return 'password is too close to your username';
  }
  if (leansOn(folded, SERVICE_NAME, policy.minLength)) {
    return 'password is too close to the name of this service';
  }
  if (isShortPatternRepeated(folded, policy.minLength)) {
    return 'password must not be a character or short pattern repeated';
  }
  if (isSequence(folded)) return 'password must not be a run of consecutive characters';
  return null;
}
