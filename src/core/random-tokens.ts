/**
 * Random tokens and ids: 256 random bits, sent to the client as base64url (session tokens, secrets); only
 * their SHA-256 is ever stored, so that a leaked database yields no live session. Not JWTs: those are the
 * token service's (jwt/token-service.ts).
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 bytes encode to 43 base64url characters without padding (RFC 4648 §5). */
export const TOKEN_LENGTH = 43;

/**
 * A canonical 43-character base64url string: 42 characters from the alphabet, then one whose two low bits
 * are zero (the last character carries 4 payload bits and 2 padding bits, RFC 4648 §3.5).
 */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** A fresh token: 256 bits from the operating system's CSPRNG. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `value` has the exact shape of a token keycard issued; checked before any hashing or store read. */
export function isWellFormedToken(value: string): boolean {
  return value.length === TOKEN_LENGTH && TOKEN_PATTERN.test(value);
}

/** node:crypto's one-shot hash (Node 20.12+): half the cost of a Hash object, on every request. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string })
  .hash;

/** SHA-256 of a token, base64url: the session's id and the only form a store ever sees. */
export function hashToken(token: string): string {
  return oneShotHash
    ? oneShotHash('sha256', token, 'base64url')
    : createHash('sha256').update(token).digest('base64url');
}

/** A random identifier (128 bits) for records that are not credentials: users, logins, nonces. */
export function generateId(): string {
  return randomBytes(16).toString('base64url');
}

/** Compares two strings in time independent of where they differ (their lengths are not secret). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
