/**
 * JWT keys on WebCrypto: a JWK checked by the same rules as on Node (jwk-rules.ts), imported once into a
 * verify-only CryptoKey bound to its one algorithm, and the signature check for each algorithm. No
 * `node:` module and no Buffer: this runs in Cloudflare's workerd without the Node compatibility flag.
 */
import { configurationError } from '../../core/errors.js';
import type { Algorithm } from '../../core/jwt/algorithm-names.js';
import { isCanonicalBase64url } from '../../core/jwt/base64url.js';
import {
  type CheckedJWK,
  checkHMACSecret,
  checkJWK,
  checkRSABits,
  type JWKInput,
  PUBLIC_MEMBERS,
  THUMBPRINT_KID_LENGTH,
  thumbprintInput,
} from '../../core/jwt/jwk-rules.js';

export interface WebJWTKey {
  kid: string;
  alg: Algorithm;
  /** A verify-only CryptoKey: the public key, or the secret for HS256. */
  verifyKey: CryptoKey;
}

/** Bytes from base64url; lenient like Node's decoder (padding allowed) — the rules check tokens first. */
export function base64urlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

type WebAlgorithm = { name: string } & Partial<EcKeyImportParams & EcdsaParams & HmacImportParams>;

/** What WebCrypto calls each algorithm: for importKey, and for verify. */
const WEB_ALGORITHMS: Record<Algorithm, { importAs: WebAlgorithm; verifyAs: WebAlgorithm }> = {
  EdDSA: { importAs: { name: 'Ed25519' }, verifyAs: { name: 'Ed25519' } },
  ES256: {
    importAs: { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyImportParams,
    verifyAs: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  },
  RS256: {
    importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams,
    verifyAs: { name: 'RSASSA-PKCS1-v1_5' },
  },
  HS256: {
    importAs: { name: 'HMAC', hash: 'SHA-256' } as HmacImportParams,
    verifyAs: { name: 'HMAC' },
  },
};

/** Coordinate sizes in bytes (RFC 8037 §2 for Ed25519; SEC 1 for P-256), checked before import. */
const COORDINATE_BYTES: Partial<Record<Algorithm, number>> = { EdDSA: 32, ES256: 32 };

/**
 * The rules a JWK must meet, all of them synchronous (so createVerifier throws at once, as on Node):
 * jwk-rules.ts, the HS256 secret's strength, and the curve points' sizes (WebCrypto implementations differ
 * in what they let through).
 */
export function checkWebJWK(jwk: JWKInput, name: string): CheckedJWK {
  const checked = checkJWK(jwk, name);
  if (checked.alg === 'HS256') checkHMACSecret(base64urlToBytes(jwk.k as string), name);
  const size = COORDINATE_BYTES[checked.alg];
  const coordinates = checked.alg === 'ES256' ? [jwk.x, jwk.y] : [jwk.x];
  if (
    size !== undefined &&
    coordinates.some(
      (c) => typeof c !== 'string' || !isCanonicalBase64url(c) || base64urlToBytes(c).length !== size,
    )
  ) {
    throw configurationError(`${name} is not a valid ${checked.alg} key`);
  }
  return checked;
}

/**
 * Imports a JWK (public, private or an `oct` secret) as a verify-only key. Only the public members reach
 * WebCrypto (a private JWK's `d` is dropped, its public half kept), so the key can never sign here.
 * Throws `invalid_configuration` naming the key (`name`), as importJWK does on Node.
 */
export async function importWebJWK(jwk: JWKInput, name: string): Promise<WebJWTKey> {
  const checked = checkWebJWK(jwk, name);
  const { alg } = checked;
  const kid =
    checked.kid ??
    bytesToBase64url(
      new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(thumbprintInput(jwk)))),
    ).slice(0, THUMBPRINT_KID_LENGTH);
  const { importAs } = WEB_ALGORITHMS[alg];
  let verifyKey: CryptoKey;
  try {
    if (alg === 'HS256') {
      const secret = base64urlToBytes(jwk.k as string);
      verifyKey = await crypto.subtle.importKey('raw', secret, importAs, false, ['verify']);
    } else {
      const publicJWK: JsonWebKey = {};
      for (const member of PUBLIC_MEMBERS) {
        if (typeof jwk[member] === 'string')
          (publicJWK as Record<string, string>)[member] = jwk[member] as string;
      }
      verifyKey = await crypto.subtle.importKey('jwk', publicJWK, importAs, false, ['verify']);
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'invalid_configuration') throw error;
    throw configurationError(`${name} is not a valid ${alg} key`);
  }
  if (alg === 'RS256') checkRSABits((verifyKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, name);
  return { kid, alg, verifyKey };
}

/** Signature lengths fixed by the algorithm (RFC 7518 §3.2, §3.4; RFC 8037 §3.1); RSA's is the modulus'. */
const SIGNATURE_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, EdDSA: 64, ES256: 64 };

/**
 * Verifies a JWS signature over `input` (ASCII) with the key's own algorithm; false for a wrong one, never
 * throws on bad input. HMAC is compared by WebCrypto's `verify`, in constant time.
 */
export async function verifySignature(
  key: WebJWTKey,
  input: string,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const expected = SIGNATURE_BYTES[key.alg];
  if (expected !== undefined && signature.length !== expected) return false;
  try {
    return await crypto.subtle.verify(
      WEB_ALGORITHMS[key.alg].verifyAs,
      key.verifyKey,
      signature,
      new TextEncoder().encode(input),
    );
  } catch {
    return false;
  }
}
