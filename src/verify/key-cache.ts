/**
 * The caching rules for a remote JWKS, for any kind of key: node:crypto KeyObjects (jwks.ts) or WebCrypto
 * CryptoKeys (the Web build). Each key is imported once per fetch, never per request; a token with an
 * unknown `kid` triggers a refetch at most once per cooldown (so a flood of garbage kids cannot turn into a
 * flood of fetches); the set is refreshed in the background after its TTL; when the auth service cannot be
 * reached, the keys already known keep working. Crypto-free and free of `node:` modules.
 */
import { readBoundedText } from '../core/http/bounded-body.js';
import type { Algorithm } from '../core/jwt/algorithm-names.js';

/** A JWKS larger than this is refused unread past it: a JWKS holds a handful of public keys. */
export const MAX_JWKS_BYTES = 256 * 1024;

export interface KeyCacheOptions<K> {
  url: URL;
  /** Refetch after this long even without an unknown kid (ms). */
  ttlMs: number;
  /** Never fetch more often than this (ms). */
  cooldownMs: number;
  /** Per-fetch timeout (ms). */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => number;
  /** Imports one JWK by the rules of jwk-rules.ts; throws for a key that breaks them. */
  importKey: (jwk: Record<string, unknown>, name: string) => K | Promise<K>;
  /** Called when a fetch or a key fails, for logs. */
  onError?: (error: unknown) => void;
}

export interface KeyCache<K> {
  /** The key for a kid, fetching if it is unknown (and the cooldown allows). Null when there is none. */
  get(kid: string | undefined): Promise<K | null>;
  /** The key if already known, without fetching. */
  peek(kid: string | undefined): K | undefined;
  /** True when no fetch has ever succeeded. */
  readonly empty: boolean;
}

export function createKeyCache<K extends { kid: string; alg: Algorithm }>(
  options: KeyCacheOptions<K>,
): KeyCache<K> {
  let keys = new Map<string, K>();
  let single: K | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let loaded = false;
  let inFlight: Promise<void> | null = null;

  const load = async (): Promise<void> => {
    attemptedAt = options.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs);
    try {
      const response = await options.fetch(options.url, {
        signal: controller.signal,
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`JWKS fetch answered ${response.status}`);
      const body = JSON.parse(
        await readBoundedText(
          response,
          MAX_JWKS_BYTES,
          () => new Error(`JWKS response is over ${MAX_JWKS_BYTES} bytes`),
        ),
      ) as { keys?: unknown } | null;
      if (!Array.isArray(body?.keys)) throw new Error('JWKS response has no "keys" list');
      const next = new Map<string, K>();
      for (const [index, jwk] of body.keys.entries()) {
        // A key published for another purpose (`"use": "enc"`, as Keycloak's JWKS has) is simply not ours
        // to use: skipped without a report, which is kept for keys that are broken.
        if (isForAnotherPurpose(jwk)) continue;
        try {
          // Refuses a key whose `use` or `key_ops` says it is not for verifying signatures (an encryption
          // key published beside the signing keys): skipped, and never used, even for a token without kid.
          const key = await options.importKey(jwk as Record<string, unknown>, `JWKS key ${index}`);
          // A JWKS publishes public keys only: a secret or a private key there is never trusted.
          const isPrivate = typeof (jwk as { d?: unknown }).d === 'string';
          if (key.alg !== 'HS256' && !isPrivate) next.set(key.kid, key);
        } catch (error) {
          options.onError?.(error); // one bad key does not hide the others
        }
      }
      keys = next;
      single = next.size === 1 ? [...next.values()][0] : undefined;
      fetchedAt = options.now();
      loaded = true;
    } catch (error) {
      options.onError?.(error);
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * One fetch at a time, shared by every caller. A fetch still pending past its timeout is abandoned and
   * not waited for again: in a Worker, a fetch started by a request that has since ended can be cancelled
   * without ever settling (its timer is cancelled too), and must not hang every later request.
   */
  const refresh = (): Promise<void> => {
    if (inFlight && options.now() - attemptedAt <= options.timeoutMs) return inFlight;
    const current: Promise<void> = load().finally(() => {
      if (inFlight === current) inFlight = null;
    });
    inFlight = current;
    return current;
  };

  const lookup = (kid: string | undefined): K | undefined => (kid === undefined ? single : keys.get(kid));

  return {
    get empty() {
      return !loaded;
    },
    peek(kid) {
      if (options.now() - fetchedAt > options.ttlMs && options.now() - attemptedAt > options.cooldownMs)
        void refresh();
      return lookup(kid);
    },
    async get(kid) {
      const known = this.peek(kid);
      if (known) return known;
      if (options.now() - attemptedAt >= options.cooldownMs) await refresh();
      else if (inFlight && options.now() - attemptedAt <= options.timeoutMs) await inFlight;
      return lookup(kid) ?? null;
    },
  };
}

/** True for a JWK plainly meant for something other than signatures: `use` other than `sig`. */
function isForAnotherPurpose(jwk: unknown): boolean {
  if (jwk === null || typeof jwk !== 'object') return false;
  const use = (jwk as { use?: unknown }).use;
  return typeof use === 'string' && use !== 'sig';
}
