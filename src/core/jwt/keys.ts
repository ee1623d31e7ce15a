/**
 * Signing keys and key sets. A key is bound to one algorithm when it is imported; a key set is ordered
 * newest first: sign with the first, verify with any that is listed (STYLE.md: keys are ordered lists).
 * Keys are imported into node:crypto KeyObjects once, never per request.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { configurationError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import {
  checkHMACSecret,
  checkJWK,
  checkRSABits,
  indexByKid,
  PUBLIC_MEMBERS,
  THUMBPRINT_KID_LENGTH,
  thumbprintInput,
} from './jwk-rules.js';

export interface JWTKey {
  kid: string;
  alg: Algorithm;
  /** Verifies: the public key, or the secret for HS256. */
  verifyKey: KeyObject;
  /** Signs: the private key or the secret; absent for verify-only keys (a JWKS). */
  signKey: KeyObject | undefined;
}

/** The public members of a JWK (RFC 7517) — never `d`, `p`, `q`, `dp`, `dq`, `qi` or `k`. */
export interface PublicJWK {
  kty: string;
  kid: string;
  alg: Algorithm;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/**
 * Imports a JWK (private, public, or an `oct` secret) by the rules of jwk-rules.ts: bound to the algorithm
 * its type implies, marked for signatures (or unmarked); it signs only when it has the private part and
 * `key_ops` (if any) includes `sign`.
 */
export function importJWK(jwk: JsonWebKey & { kid?: string; alg?: string }, name = 'key'): JWTKey {
  const checked = checkJWK(jwk, name);
  const { alg, allowed } = checked;
  const kid =
    checked.kid ??
    createHash('sha256').update(thumbprintInput(jwk)).digest('base64url').slice(0, THUMBPRINT_KID_LENGTH);
  try {
    if (alg === 'HS256') {
      const secret = Buffer.from(jwk.k as string, 'base64url');
      checkHMACSecret(secret, name);
      const key = createSecretKey(secret);
      return { kid, alg, verifyKey: key, signKey: allowed.sign ? key : undefined };
    }
    const privateKey = checked.isPrivate ? createPrivateKey({ key: jwk, format: 'jwk' }) : undefined;
    const verifyKey = privateKey ? createPublicKey(privateKey) : createPublicKey({ key: jwk, format: 'jwk' });
    const signKey = allowed.sign ? privateKey : undefined;
    if (alg === 'RS256') checkRSABits(verifyKey.asymmetricKeyDetails?.modulusLength ?? 0, name);
    return { kid, alg, verifyKey, signKey };
  } catch (error) {
    if ((error as { code?: string }).code === 'invalid_configuration') throw error;
    throw configurationError(`${name} is not a valid ${alg} key`);
  }
}

/** A fresh key for `alg`, with a random kid. */
export function generateJWTKey(alg: Algorithm, kid = randomBytes(9).toString('base64url')): JWTKey {
  if (alg === 'HS256') {
    const key = createSecretKey(randomBytes(32));
    return { kid, alg, verifyKey: key, signKey: key };
  }
  // Generated as DER and imported, never as KeyObjects straight from the generator: on Node 20 a
  // KeyObject that shares its key with a generation job can deadlock the process when exported as JWK
  // (the export holds the key's mutex while allocating; a GC then finalizes the job, whose destructor
  // takes the same mutex). Imported keys have a mutex of their own. See test/core/jwt/keys-deadlock.
  const privateKeyEncoding = { format: 'der', type: 'pkcs8' } as { format: 'der'; type: 'pkcs8' };
  const publicKeyEncoding = { format: 'der', type: 'spki' } as { format: 'der'; type: 'spki' };
  let der: Buffer;
  if (alg === 'EdDSA') {
    der = generateKeyPairSync('ed25519', { privateKeyEncoding, publicKeyEncoding }).privateKey;
  } else if (alg === 'ES256') {
    der = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding,
      publicKeyEncoding,
    }).privateKey;
  } else {
    der = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding,
      publicKeyEncoding,
    }).privateKey;
  }
  const signKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return { kid, alg, verifyKey: createPublicKey(signKey), signKey };
}

/** The public JWK of a key; HS256 keys have none (a secret is never published). */
export function exportPublicJWK(key: JWTKey): PublicJWK | null {
  if (key.alg === 'HS256') return null;
  const jwk = key.verifyKey.export({ format: 'jwk' }) as JsonWebKey;
  const result: PublicJWK = { kty: String(jwk.kty), kid: key.kid, alg: key.alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS) {
    if (member !== 'kty' && typeof jwk[member] === 'string') result[member] = jwk[member] as string;
  }
  return result;
}

/** The private JWK (for the key file); throws for a verify-only key. */
export function exportPrivateJWK(key: JWTKey): JsonWebKey & { kid: string; alg: Algorithm } {
  if (!key.signKey) throw configurationError(`key ${key.kid} has no private part`);
  if (key.alg === 'HS256') {
    return { kty: 'oct', k: key.signKey.export().toString('base64url'), kid: key.kid, alg: key.alg };
  }
  return { ...(key.signKey.export({ format: 'jwk' }) as JsonWebKey), kid: key.kid, alg: key.alg };
}

export interface KeySet {
  /** The key new tokens are signed with (the first that can sign). */
  readonly signing: JWTKey | undefined;
  readonly keys: readonly JWTKey[];
  get(kid: string): JWTKey | undefined;
  /** `{"keys": [...]}` with public members only, for /.well-known/jwks.json. */
  toJWKS(): { keys: PublicJWK[] };
}

/** An ordered key set, newest first. Key ids must be unique. */
export function createKeySet(keys: readonly JWTKey[]): KeySet {
  const byKid = indexByKid(keys);
  const jwks = { keys: keys.map(exportPublicJWK).filter((jwk): jwk is PublicJWK => jwk !== null) };
  return {
    signing: keys.find((key) => key.signKey !== undefined),
    keys,
    get: (kid) => byKid.get(kid),
    toJWKS: () => jwks,
  };
}

/** A key set whose contents can be replaced at run time (key rotation without a restart). */
export interface MutableKeySet extends KeySet {
  replace(next: KeySet): void;
}

export function createMutableKeySet(initial: KeySet): MutableKeySet {
  let current = initial;
  return {
    get signing() {
      return current.signing;
    },
    get keys() {
      return current.keys;
    },
    get: (kid) => current.get(kid),
    toJWKS: () => current.toJWKS(),
    replace(next) {
      current = next;
    },
  };
}
