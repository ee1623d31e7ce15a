/**
 * Session-bound CSRF tokens (the second of DESIGN.md's two CSRF defences, after the Origin /
 * Sec-Fetch-Site check): `nonce.HMAC-SHA256(secret, "keycard-csrf" ‖ binding ‖ nonce)`. The binding is
 * the login's id — or, before login, a random id kept in an HttpOnly cookie — so a token taken from one
 * login is worthless for another, and an attacker who can plant a cookie still cannot mint a matching
 * token without the server's secret. That is what makes this different from naive double-submit, where
 * the token is merely compared with a cookie the attacker may be able to set.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const NONCE_BYTES = 18; // 24 base64url characters
const MAC_BYTES = 32; // HMAC-SHA256
// The MAC's 32 bytes are 43 characters whose last carries 4 bits and 2 unused ones: only the canonical
// encoding (those 2 bits zero) is accepted, so a token has exactly one spelling.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

function mac(secret: Buffer, binding: string, nonce: string): Buffer {
  return createHmac('sha256', secret).update(`keycard-csrf\u0000${binding}\u0000${nonce}`).digest();
}

/** A fresh token for `binding`, signed with the newest secret. */
export function createCSRFToken(secret: Buffer, binding: string): string {
  const nonce = randomBytes(NONCE_BYTES).toString('base64url');
  return `${nonce}.${mac(secret, binding, nonce).toString('base64url')}`;
}

/** True when `token` was made for `binding` with one of `secrets` (newest first; rotation keeps older ones). */
export function verifyCSRFToken(secrets: readonly Buffer[], binding: string, token: unknown): boolean {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return false;
  const dot = token.indexOf('.');
  const nonce = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  // The pattern already fixes the length; checked again because timingSafeEqual throws on a length
  // mismatch, and a request's token must never be able to turn a refusal into an exception.
  if (given.length !== MAC_BYTES) return false;
  return secrets.some((secret) => timingSafeEqual(mac(secret, binding, nonce), given));
}
