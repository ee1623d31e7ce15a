/**
 * A remote JWKS, fetched and cached for a resource server. Keys are imported into node:crypto once;
 * a token with an unknown `kid` triggers a refetch (at most once per cooldown, so a flood of garbage
 * kids cannot turn into a flood of fetches), and the set is refreshed in the background after its TTL.
 * When the auth service cannot be reached, the keys already known keep working.
 */
import { importJWK, type JWTKey } from 'keycard';

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

export interface RemoteKeySet {
  /** The key for a kid, fetching if it is unknown (and the cooldown allows). Null when there is none. */
  get(kid: string | undefined): Promise<JWTKey | null>;
  /** The key if already known, without fetching. */
  peek(kid: string | undefined): JWTKey | undefined;
  /** True when no fetch has ever succeeded. */
  readonly empty: boolean;
}

export function createRemoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  let keys = new Map<string, JWTKey>();
  let single: JWTKey | undefined;
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
      const body = (await response.json()) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new Error('JWKS response has no "keys" list');
      const next = new Map<string, JWTKey>();
      for (const [index, jwk] of body.keys.entries()) {
        // A key published for another purpose (`"use": "enc"`, as Keycloak's JWKS has) is simply not ours
        // to use: skipped without a report, which is kept for keys that are broken.
        if (isForAnotherPurpose(jwk)) continue;
        try {
          // Refuses a key whose `use` or `key_ops` says it is not for verifying signatures (an encryption
          // key published beside the signing keys): skipped, and never used, even for a token without kid.
          const key = importJWK(jwk as never, `JWKS key ${index}`);
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

  const refresh = (): Promise<void> => {
    inFlight ??= load().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  const lookup = (kid: string | undefined): JWTKey | undefined =>
    kid === undefined ? single : keys.get(kid);

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
      else if (inFlight) await inFlight;
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
