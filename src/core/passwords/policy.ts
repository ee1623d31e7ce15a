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

export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  minLength: 8,
  maxLength: 1024,
});

export function resolvePasswordPolicy(input: Partial<PasswordPolicy> = {}): PasswordPolicy {
  const policy = { ...DEFAULT_PASSWORD_POLICY, ...input };
  if (!Number.isInteger(policy.minLength) || policy.minLength < 8) {
    throw configurationError('passwords.minLength must be a whole number of at least 8 (NIST SP 800-63B)');
  }
  if (!Number.isInteger(policy.maxLength) || policy.maxLength < 64 || policy.maxLength < policy.minLength) {
    throw configurationError(
      'passwords.maxLength must be at least 64 and at least minLength (NIST SP 800-63B)',
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
