/**
 * What makes a JWK acceptable as a JWT key, checked before any crypto library sees it: the algorithm its
 * type implies (and a declared `alg` must agree with), its `use`/`key_ops` (key-use.ts), its `kid`, and the
 * strength rules for HMAC secrets and RSA moduli. Crypto-free, so keys.ts (node:crypto KeyObjects) and
 * keycard/verify's Web build (WebCrypto CryptoKeys) import keys by exactly the same rules.
 */
import { configurationError } from '../errors.js';
import { type Algorithm, isAlgorithm } from './algorithm-names.js';
import { type KeyOperations, keyOperations } from './key-use.js';

/** A JWK as received: any members, checked here before use. */
export interface JWKInput {
  kty?: unknown;
  crv?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
  d?: unknown;
  k?: unknown;
  [member: string]: unknown;
}

/** The public members of a JWK (RFC 7517) — never `d`, `p`, `q`, `dp`, `dq`, `qi` or `k`. */
export const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** HMAC secrets shorter than this are refused (RFC 7518 §3.2: at least the hash size). */
export const MIN_HMAC_SECRET_BYTES = 32;
/** RSA moduli shorter than this are refused (RFC 7518 §3.3: 2048 bits or larger). */
export const MIN_RSA_BITS = 2048;

/** Secrets copied from tutorials and examples; refused even when long enough. */
const PLACEHOLDER_SECRETS = [
  /^change.?me/i,
  /^secret/i,
  /^your.?(256.?bit.?)?secret/i,
  /^keyboard.?cat/i,
  /^(.)\1+$/,
  /^password/i,
];

/** Refuses a short or well-known HMAC secret; the message never contains the secret. */
export function checkHMACSecret(secret: Uint8Array, name: string): void {
  if (secret.length < MIN_HMAC_SECRET_BYTES) {
    throw configurationError(
      `${name} has ${secret.length} bytes; an HS256 secret needs at least ${MIN_HMAC_SECRET_BYTES} random bytes`,
    );
  }
  let text = ''; // latin1: one character per byte
  for (const byte of secret) text += String.fromCharCode(byte);
  if (PLACEHOLDER_SECRETS.some((pattern) => pattern.test(text))) {
    throw configurationError(
      `${name} is a well-known placeholder; generate a random one (keycard keys generate)`,
    );
  }
}

/** Refuses an RSA key whose modulus is too short. */
export function checkRSABits(bits: number, name: string): void {
  if (bits < MIN_RSA_BITS) {
    throw configurationError(`${name}: RSA keys need at least ${MIN_RSA_BITS} bits (this one has ${bits})`);
  }
}

/** The algorithm a key's type implies; a declared `alg` must agree with it. */
function algorithmFor(jwk: JWKInput): Algorithm {
  switch (jwk.kty) {
    case 'OKP':
      if (jwk.crv === 'Ed25519') return 'EdDSA';
      break;
    case 'EC':
      if (jwk.crv === 'P-256') return 'ES256';
      break;
    case 'RSA':
      return 'RS256';
    case 'oct':
      return 'HS256';
  }
  throw configurationError(
    `unsupported key type ${String(jwk.kty)}${jwk.crv ? `/${String(jwk.crv)}` : ''}: use Ed25519, P-256, RSA or an HS256 secret`,
  );
}

/** What a JWK's checks decided: the one algorithm it is for, and what it may do. */
export interface CheckedJWK {
  alg: Algorithm;
  /** The JWK's own kid; undefined when it has none (the caller derives one from thumbprintInput). */
  kid: string | undefined;
  isPrivate: boolean;
  allowed: KeyOperations;
}

/**
 * Checks a JWK (private, public, or an `oct` secret) about to be imported as a JWT key. `alg` defaults to
 * what the key type implies and must agree with it: a key is never used with another algorithm than the
 * one it was imported for. Its `use` and `key_ops` must mark it for signatures (or be absent), see
 * key-use.ts: every imported key verifies, so it must allow `verify` (a private key's `sign` covers its
 * public half). Throws `invalid_configuration` naming the key (`name`).
 */
export function checkJWK(jwk: JWKInput, name: string): CheckedJWK {
  if (!jwk || typeof jwk !== 'object') throw configurationError(`${name} is not a JWK object`);
  const allowed = keyOperations(jwk, name);
  const isPrivate = typeof jwk.d === 'string';
  const ops = `key_ops [${Array.isArray(jwk.key_ops) ? jwk.key_ops.join(', ') : ''}]`;
  if (jwk.kty === 'oct' ? !allowed.verify : !(allowed.verify || (isPrivate && allowed.sign))) {
    throw configurationError(
      `${name}: ${ops} does not include "verify"${isPrivate ? ' or "sign"' : ''}, and every JWT key verifies signatures`,
    );
  }
  const implied = algorithmFor(jwk);
  if (jwk.alg !== undefined && jwk.alg !== implied) {
    if (!isAlgorithm(jwk.alg))
      throw configurationError(
        `${name}: alg '${String(jwk.alg)}' is not supported (EdDSA, ES256, RS256, HS256)`,
      );
    throw configurationError(
      `${name}: alg ${jwk.alg} does not fit a ${String(jwk.kty)} key (it takes ${implied})`,
    );
  }
  const kid = jwk.kid ?? undefined;
  if (kid !== undefined && (typeof kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(kid)))
    throw configurationError(`${name}: kid must be 1–128 printable characters`);
  if (implied === 'HS256' && typeof jwk.k !== 'string')
    throw configurationError(`${name}: an oct key needs k`);
  return { alg: implied, kid, isPrivate, allowed };
}

/**
 * The text whose SHA-256 (base64url, first 16 characters) is the kid of a JWK that has none — public
 * members only (RFC 7638 thumbprint-like), or `k` for a secret — so both verifiers derive the same kid.
 */
export function thumbprintInput(jwk: JWKInput): string {
  if (jwk.kty === 'oct') return JSON.stringify({ k: jwk.k, kty: 'oct' });
  return JSON.stringify(
    Object.fromEntries(PUBLIC_MEMBERS.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m]])),
  );
}

/** The kid derived from a thumbprint digest (see thumbprintInput). */
export const THUMBPRINT_KID_LENGTH = 16;

/** Keys by kid; key ids must be unique within a set (else a token's kid would pick one by chance). */
export function indexByKid<K extends { kid: string }>(keys: readonly K[]): Map<string, K> {
  const byKid = new Map<string, K>();
  for (const key of keys) {
    if (byKid.has(key.kid)) throw configurationError(`two keys share the kid '${key.kid}'`);
    byKid.set(key.kid, key);
  }
  return byKid;
}
