/**
 * Recovery codes: ten single-use codes for when the other factors are lost. Each has 80 random bits
 * (16 base32 characters, shown in four groups), so its SHA-256 — all that is stored — cannot be reversed
 * by trying codes, as with session tokens. Used codes are bits in the factor's `counter` (the low
 * RECOVERY_CODE_COUNT bits), set by the store's compare-and-set, so a code is accepted once even when sent
 * twice at the same moment; the bits above count generations, so replacing the codes is a compare-and-set
 * too.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32Encode } from './base32.js';

export const RECOVERY_CODE_COUNT = 10;

/** Lower case, without spaces or dashes: how a typed code is compared. */
export function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]+/g, '').toLowerCase();
}

/** True when `code` could be a recovery code (16 base32 characters once normalized). */
export function isRecoveryCode(code: string): boolean {
  return /^[a-z2-7]{16}$/.test(normalizeRecoveryCode(code));
}

const hashCode = (code: string): string =>
  createHash('sha256').update(normalizeRecoveryCode(code)).digest('base64url');

/** Fresh codes to show the user once, and the factor `secret` that stores their hashes. */
export function generateRecoveryCodes(): { codes: string[]; secret: string } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const raw = base32Encode(randomBytes(10)).toLowerCase();
    return raw.match(/.{4}/g)?.join('-') ?? raw;
  });
  return { codes, secret: JSON.stringify(codes.map(hashCode)) };
}

/** The index of the unused code `code` matches, or null. */
export function matchRecoveryCode(secret: string, used: number, code: string): number | null {
  const hashes = JSON.parse(secret) as string[];
  const typed = Buffer.from(hashCode(code));
  let matched: number | null = null;
  hashes.forEach((hash, index) => {
    const equal = hash.length === typed.length && timingSafeEqual(Buffer.from(hash), typed);
    if (equal && (used & (1 << index)) === 0) matched = index;
  });
  return matched;
}

/** How many codes are left unused. */
export function remainingRecoveryCodes(secret: string, used: number): number {
  const count = (JSON.parse(secret) as string[]).length;
  let left = 0;
  for (let index = 0; index < count; index++) if ((used & (1 << index)) === 0) left++;
  return left;
}

/** The counter of fresh codes replacing those of `counter`: no code used, the generation one more. */
export function nextRecoveryGeneration(counter: number): number {
  const generation = Math.floor(counter / 2 ** RECOVERY_CODE_COUNT);
  return (generation + 1) * 2 ** RECOVERY_CODE_COUNT;
}
