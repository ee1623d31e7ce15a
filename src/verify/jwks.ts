/**
 * A remote JWKS for a resource server on Node: keys imported into node:crypto once per fetch, cached,
 * refetched for unknown kids at most once per cooldown and refreshed after a TTL — the rules of
 * key-cache.ts, which the Web build (WebCrypto keys) shares.
 */
import { importJWK, type JWTKey } from 'keycard';
import { createKeyCache, type KeyCache } from './key-cache.js';

export interface RemoteKeySetOptions {
  url: URL;
  /** Refetch after this long even without an unknown kid (ms). */
  ttlMs: number;
  /** Never fetch more often than this (ms). */
  cooldownMs: number;
  /** Per-fetch timeout (ms). */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => number;
  /** Called when a fetch fails, for logs. */
  onError?: (error: unknown) => void;
}

/** The key for a kid (fetched when unknown), the known key without fetching, and whether any fetch worked. */
export type RemoteKeySet = KeyCache<JWTKey>;

export function createRemoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  return createKeyCache({ ...options, importKey: (jwk, name) => importJWK(jwk as never, name) });
}
