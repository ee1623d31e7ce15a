/**
 * What a factor looks like to its user and to clients: never its secret. And the name rule for factors.
 */
import { KeycardError } from '../errors.js';
import type { FactorKind, FactorRecord } from '../store.js';
import { remainingRecoveryCodes } from './recovery.js';

export interface PublicFactor {
  id: string;
  kind: FactorKind;
  name: string;
  /** False while a TOTP enrolment waits for its first code: it is not asked for at sign-in yet. */
  confirmed: boolean;
  createdAt: number;
  lastUsedAt: number | null;
  /** Recovery codes: how many are left. */
  remaining?: number;
}

export function toPublicFactor(factor: FactorRecord): PublicFactor {
  return {
    id: factor.id,
    kind: factor.kind,
    name: factor.name,
    confirmed: factor.confirmedAt !== null,
    createdAt: factor.createdAt,
    lastUsedAt: factor.lastUsedAt,
    ...(factor.kind === 'recovery'
      ? { remaining: remainingRecoveryCodes(factor.secret, factor.counter) }
      : {}),
  };
}

export const MAX_FACTOR_NAME_LENGTH = 64;

/** A factor's name as given (trimmed), or `fallback` when none is given; refused when unprintable or long. */
export function factorName(input: unknown, fallback: string): string {
  if (input === undefined || input === null || input === '') return fallback;
  if (typeof input !== 'string')
    throw new KeycardError('invalid_request', 'name must be a string', { field: 'name' });
  const name = input.normalize('NFC').trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (name.length === 0 || name.length > MAX_FACTOR_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new KeycardError(
      'invalid_request',
      `name must be 1 to ${MAX_FACTOR_NAME_LENGTH} printable characters`,
      {
        field: 'name',
      },
    );
  }
  return name;
}

/** The factors that finish a sign-in or a step-up: confirmed, and recovery codes only with codes left. */
export function usableFactors(factors: readonly FactorRecord[]): FactorRecord[] {
  return factors.filter(
    (factor) =>
      factor.confirmedAt !== null &&
      (factor.kind !== 'recovery' || remainingRecoveryCodes(factor.secret, factor.counter) > 0),
  );
}

/** True when the user has a second factor: a confirmed TOTP or passkey (recovery codes only back them up). */
export function hasSecondFactor(factors: readonly FactorRecord[]): boolean {
  return factors.some((factor) => factor.kind !== 'recovery' && factor.confirmedAt !== null);
}
