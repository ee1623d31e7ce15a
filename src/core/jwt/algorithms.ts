/**
 * The JWS algorithms keycard signs and verifies, on synchronous node:crypto with keys imported once
 * (WebCrypto's async calls cost several times more per request). Each key is bound to exactly one
 * algorithm; the token header never chooses it.
 */
import { createHmac, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import type { Algorithm } from './algorithm-names.js';

export { ALGORITHMS, type Algorithm, isAlgorithm } from './algorithm-names.js';

/** Signs `input` (the JWS signing input, ASCII) with a private key or HMAC secret. */
export function signBytes(alg: Algorithm, key: KeyObject, input: Buffer): Buffer {
  switch (alg) {
    case 'HS256':
      return createHmac('sha256', key).update(input).digest();
    case 'EdDSA':
      return sign(null, input, key);
    case 'ES256':
      // JWS uses the fixed-size r||s form (RFC 7518 §3.4), not DER.
      return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', input, key);
  }
}

/**
 * Verifies a signature over `input` (the JWS signing input, ASCII); false for a wrong one, never throws
 * on bad input. The input stays a string for HMAC, which hashes it without an intermediate Buffer.
 */
export function verifyBytes(alg: Algorithm, key: KeyObject, input: string, signature: Buffer): boolean {
  try {
    switch (alg) {
      case 'HS256': {
        if (signature.length !== 32) return false;
        return timingSafeEqual(createHmac('sha256', key).update(input, 'latin1').digest(), signature);
      }
      case 'EdDSA':
        return signature.length === 64 && verify(null, Buffer.from(input, 'latin1'), key, signature);
      case 'ES256':
        return (
          signature.length === 64 &&
          verify('sha256', Buffer.from(input, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'RS256':
        return verify('sha256', Buffer.from(input, 'latin1'), key, signature);
    }
  } catch {
    return false;
  }
}
