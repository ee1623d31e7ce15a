/**
 * The rules a new password must meet (NIST SP 800-63B §3.1.1.2): a minimum length, at least 64 characters
 * allowed, no composition rules. Length is counted in Unicode code points after NFKC normalisation.
 */
import { configurationError } from '../errors.js';
import { normalizePassword } from './hash.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
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

export function resolvePasswordPolicy(input: Partial<PasswordPolicy> = {}): PasswordPolicy {
  const policy = {
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
  return policy;
}

/** Code points, not UTF-16 units: an emoji counts as one character. */
function countCharacters(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** Why `password` cannot be set, as a message for the user, or null when it meets the policy. */
export function checkNewPassword(password: unknown, policy: PasswordPolicy): string | null {
  if (typeof password !== 'string') return 'password must be a string';
  const length = countCharacters(normalizePassword(password));
  if (length < policy.minLength) return `password must be at least ${policy.minLength} characters`;
  if (length > policy.maxLength) return `password must be at most ${policy.maxLength} characters`;
  return null;
}
