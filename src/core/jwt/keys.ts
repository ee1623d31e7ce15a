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
import { type Algorithm, isAlgorithm } from './algorithms.js';
import { keyOperations } from './key-use.js';

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

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** HMAC secrets shorter than this are refused (RFC 7518 §3.2: at least the hash size). */
export const MIN_HMAC_SECRET_BYTES = 32;
const MIN_RSA_BITS = 2048;

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
export function checkHMACSecret(secret: Buffer, name: string): void {
  if (secret.length < MIN_HMAC_SECRET_BYTES) {
    throw configurationError(
      `${name} has ${secret.length} bytes; an HS256 secret needs at least ${MIN_HMAC_SECRET_BYTES} random bytes`,
    );
  }
  const text = secret.toString('latin1');
  if (PLACEHOLDER_SECRETS.some((pattern) => pattern.test(text))) {
    throw configurationError(
      `${name} is a well-known placeholder; generate a random one (keycard keys generate)`,
    );
  }
}

/** The algorithm a key's type implies; a declared `alg` must agree with it. */
function algorithmFor(jwk: JsonWebKey): Algorithm {
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

/** A key id derived from the public key (RFC 7638 thumbprint-like), used when a JWK has none. */
function thumbprintKid(jwk: JsonWebKey): string {
  const members = Object.fromEntries(
    PUBLIC_MEMBERS.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m]]),
  );
  const material = jwk.kty === 'oct' ? { k: jwk.k, kty: 'oct' } : members;
  return createHash('sha256').update(JSON.stringify(material)).digest('base64url').slice(0, 16);
}

/**
 * Imports a JWK (private, public, or an `oct` secret). `alg` defaults to what the key type implies and
 * must agree with it: a key is never used with another algorithm than the one it was imported for. Its
 * `use` and `key_ops` must mark it for signatures (or be absent), see key-use.ts: every imported key
 * verifies, so it must allow `verify` (a private key's `sign` covers its public half); it signs only
 * when it has the private part and `key_ops` (if any) includes `sign`.
 */
export function importJWK(jwk: JsonWebKey & { kid?: string; alg?: string }, name = 'key'): JWTKey {
  if (!jwk || typeof jwk !== 'object') throw configurationError(`${name} is not a JWK object`);
  const marks = jwk as { use?: unknown; key_ops?: unknown };
  const allowed = keyOperations(marks, name);
  const isPrivate = typeof jwk.d === 'string';
  const ops = `key_ops [${Array.isArray(marks.key_ops) ? marks.key_ops.join(', ') : ''}]`;
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
  const kid = jwk.kid ?? thumbprintKid(jwk);
  if (typeof kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(kid))
    throw configurationError(`${name}: kid must be 1–128 printable characters`);
  try {
    if (implied === 'HS256') {
      if (typeof jwk.k !== 'string') throw configurationError(`${name}: an oct key needs k`);
      const secret = Buffer.from(jwk.k, 'base64url');
      checkHMACSecret(secret, name);
      const key = createSecretKey(secret);
      return { kid, alg: implied, verifyKey: key, signKey: allowed.sign ? key : undefined };
    }
    const privateKey = isPrivate ? createPrivateKey({ key: jwk, format: 'jwk' }) : undefined;
    const verifyKey = privateKey ? createPublicKey(privateKey) : createPublicKey({ key: jwk, format: 'jwk' });
    const signKey = allowed.sign ? privateKey : undefined;
    if (implied === 'RS256') {
      const bits = verifyKey.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS)
        throw configurationError(
          `${name}: RSA keys need at least ${MIN_RSA_BITS} bits (this one has ${bits})`,
        );
    }
    return { kid, alg: implied, verifyKey, signKey };
  } catch (error) {
    if ((error as { code?: string }).code === 'invalid_configuration') throw error;
    throw configurationError(`${name} is not a valid ${implied} key`);
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
  const byKid = new Map<string, JWTKey>();
  for (const key of keys) {
    if (byKid.has(key.kid)) throw configurationError(`two keys share the kid '${key.kid}'`);
    byKid.set(key.kid, key);
  }
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
