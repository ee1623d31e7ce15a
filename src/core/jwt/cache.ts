/**
 * A cache of verified tokens: an Ed25519, ECDSA or RSA signature check costs 50–150 µs, an HS256 one with
 * its decoding and parsing a few µs more than a lookup, and a client sends the same access token with
 * every request for its whole lifetime. The cache's key is the
 * whole token (the exact bytes that were verified), so a hit can only ever be the same token:
 * - a hit re-checks expiry and not-before against the current time, so an entry never outlives `exp`;
 * - a hit re-checks that the key that verified it is still in the key set, so key rotation (removing a
 *   key) takes effect at once;
 * - revocation is not the cache's concern: it is checked after verification, on every request (hybrid).
 * Bounded: the oldest entries go first.
 */
import type { BoundKey, JWTClaims, JWTHeader, Verified, VerifyFailure } from './checks.js';
import type { JWTKey } from './keys.js';

interface Entry<K> {
  header: JWTHeader;
  claims: JWTClaims;
  key: K;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** Generic over the key type: node:crypto JWTKeys here, WebCrypto keys in keycard/verify's Web build. */
export class VerifiedTokenCache<K extends BoundKey = JWTKey> {
  private readonly entries = new Map<string, Entry<K>>();

  constructor(
    private readonly maxEntries: number,
    private readonly leewaySeconds: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** A previous verification of this exact token, if it is still valid now with a key still listed. */
  get(
    token: string,
    nowSeconds: number,
    currentKey: (kid: string) => K | undefined,
  ): Verified<K> | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    const { claims, key } = entry;
    const expired = nowSeconds - this.leewaySeconds >= claims.exp;
    const early = claims.nbf !== undefined && nowSeconds + this.leewaySeconds < claims.nbf;
    if (expired || early || currentKey(key.kid) !== key) {
      this.entries.delete(token);
      return undefined; // verified afresh, which gives the precise failure
    }
    return { ok: true, header: entry.header, claims, key };
  }

  set(token: string, result: Verified<K> | VerifyFailure): void {
    if (!result.ok || this.maxEntries === 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    deepFreeze(result.claims);
    this.entries.set(token, { header: result.header, claims: result.claims, key: result.key });
  }

  clear(): void {
    this.entries.clear();
  }
}
