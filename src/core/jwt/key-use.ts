/**
 * What a JWK's `use` and `key_ops` members (RFC 7517 §4.2, §4.3) allow keycard to do with it. keycard
 * only signs and verifies JWS, so a key is fit only when it is marked for signatures or not marked at
 * all: a key published for encryption (`"use": "enc"`, `"key_ops": ["encrypt"]`) is never used to check
 * a signature, whatever its material — using one key for two purposes is what these members exist to
 * prevent.
 *
 * - `use` (§4.2): absent, or `"sig"`. Any other value (`"enc"`, or one the RFC leaves open) is not for
 *   signatures. Values are case-sensitive.
 * - `key_ops` (§4.3): absent, or a list of the operations the RFC defines, each at most once ("Duplicate
 *   key operation values MUST NOT be present"). keycard also refuses values outside the RFC's list (it
 *   cannot know what they allow) and signature operations mixed with unrelated ones ("Multiple unrelated
 *   key operations SHOULD NOT be specified for a key"). `sign` lets a private key or secret sign, and a
 *   private key's public half verify (WebCrypto exports a private key as `["sign"]`); `verify` lets a key
 *   verify.
 * - Both present (§4.3: they "SHOULD NOT be used together"; if they are, the information "MUST be
 *   consistent"): `use` must be `"sig"` and `key_ops` only `sign`/`verify`.
 */
import { configurationError } from '../errors.js';

/** RFC 7517 §4.3's key operation values. */
const KEY_OPERATIONS = new Set([
  'sign',
  'verify',
  'encrypt',
  'decrypt',
  'wrapKey',
  'unwrapKey',
  'deriveKey',
  'deriveBits',
]);
const SIGNATURE_OPERATIONS = new Set(['sign', 'verify']);

/** What a key may be used for, according to its `use` and `key_ops`. */
export interface KeyOperations {
  /** It may sign (when it has the private part or is a secret). */
  sign: boolean;
  /** It may verify. */
  verify: boolean;
}

/** A member's value for a message: only a short plain word is quoted (the JWK may come from a JWKS). */
const shown = (value: unknown): string =>
  typeof value === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(value) ? `"${value}"` : 'a value';

/** The key operations a JWK's `key_ops` lists; throws for a malformed list (not a list, unknown, repeated). */
function listedOperations(keyOps: unknown, name: string): Set<string> {
  if (!Array.isArray(keyOps)) {
    throw configurationError(`${name}: key_ops must be a list of key operations (RFC 7517 §4.3)`);
  }
  const operations = new Set<string>();
  for (const operation of keyOps) {
    if (typeof operation !== 'string' || !KEY_OPERATIONS.has(operation)) {
      throw configurationError(
        `${name}: key_ops has ${shown(operation)}, which is not a key operation of RFC 7517 §4.3 (${[...KEY_OPERATIONS].join(', ')})`,
      );
    }
    if (operations.has(operation)) {
      throw configurationError(
        `${name}: key_ops lists "${operation}" twice (RFC 7517 §4.3 forbids duplicates)`,
      );
    }
    operations.add(operation);
  }
  return operations;
}

/**
 * What `use` and `key_ops` allow, for a JWK about to be imported as a JWT key. Throws `invalid_configuration`
 * naming the key (`name`) and the reason when they are malformed, inconsistent, or mark a key that is not
 * for signatures at all.
 */
export function keyOperations(jwk: { use?: unknown; key_ops?: unknown }, name: string): KeyOperations {
  const { use } = jwk;
  const operations = jwk.key_ops === undefined ? null : listedOperations(jwk.key_ops, name);
  if (use !== undefined && typeof use !== 'string') {
    throw configurationError(`${name}: use must be a string, "sig" for a JWT key (RFC 7517 §4.2)`);
  }
  const signatureOnly = operations === null || [...operations].every((op) => SIGNATURE_OPERATIONS.has(op));
  if (use !== undefined && operations !== null && (use === 'sig') !== signatureOnly) {
    throw configurationError(
      `${name}: use ${shown(use)} and key_ops [${[...operations].join(', ')}] disagree (RFC 7517 §4.3 requires them to be consistent)`,
    );
  }
  if (use !== undefined && use !== 'sig') {
    throw configurationError(
      `${name}: use ${shown(use)} marks a key that is not for signatures; a JWT key has use "sig" or none (RFC 7517 §4.2)`,
    );
  }
  if (operations === null) return { sign: true, verify: true };
  if (!signatureOnly) {
    throw configurationError(
      `${name}: key_ops [${[...operations].join(', ')}] ${
        [...operations].some((op) => SIGNATURE_OPERATIONS.has(op))
          ? 'mixes signature operations with unrelated ones (RFC 7517 §4.3)'
          : 'marks a key that is not for signatures'
      }; a JWT key has key_ops with "sign" and/or "verify", or none`,
    );
  }
  return { sign: operations.has('sign'), verify: operations.has('verify') };
}
