/**
 * Strict base64url (RFC 4648 §5, without padding, as JWS requires in RFC 7515 §2): only the URL-safe
 * alphabet, no padding, and canonical — the unused low bits of the last character must be zero, so every
 * byte string has exactly one encoding and a token cannot be altered without changing its meaning.
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;
const INDEX = (() => {
  const table = new Int8Array(128).fill(-1);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = i;
  return table;
})();

/** True for a canonical unpadded base64url string (the empty string included). */
export function isCanonicalBase64url(value: string): boolean {
  const remainder = value.length % 4;
  if (remainder === 1 || !ALPHABET.test(value)) return false;
  if (remainder === 0) return true;
  const last = INDEX[value.charCodeAt(value.length - 1)] as number;
  // Two leftover characters carry 8 bits (4 unused); three carry 16 bits (2 unused).
  return remainder === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** Decodes canonical base64url; null for anything else. */
export function decodeBase64url(value: string): Buffer | null {
  return isCanonicalBase64url(value) ? Buffer.from(value, 'base64url') : null;
}

export function encodeBase64url(value: Buffer | string): string {
  return (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('base64url');
}
