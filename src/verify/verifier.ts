/**
 * The verifier for services that only check tokens ("Service B"): it never holds a signing key and never
 * calls the auth service per request. Keys come from the auth service's JWKS (fetched and cached) or are
 * given directly; verification is keycard's strict `verifyJWT` on node:crypto.
 */
import {
  ACCESS_TOKEN_TYPE,
  type Algorithm,
  CLIENT_TOKEN_TYPE,
  type Clock,
  configurationError,
  createKeySet,
  type Duration,
  importJWK,
  type JWTClaims,
  type JWTKey,
  type KeyResolver,
  keySetResolver,
  parseDuration,
  RevocationMonitor,
  type Store,
  systemClock,
  VerifiedTokenCache,
  type VerifyResult,
  verifyJWT,
} from 'keycard';
import { openStore } from 'keycard/stores';
import { createRemoteKeySet, type RemoteKeySet } from './jwks.js';

export interface VerifierOptions {
  /** The auth service's JWKS, e.g. https://auth.example/.well-known/jwks.json. */
  jwksURL?: string | URL;
  /** Or the keys themselves: public JWKs, or keys from importJWK/generateJWTKey. */
  keys?: Array<JWTKey | Record<string, unknown>>;
  /** Required `iss`. Default 'keycard'. */
  issuer?: string;
  /** Required `aud`. Default 'keycard'. */
  audience?: string;
  /**
   * Which tokens to accept: user access tokens (`typ: at+jwt`) and/or API clients' tokens
   * (`typ: client-at+jwt`, from the client-credentials grant). Default: users only — a client token can
   * never pass where a user is expected, nor the reverse, unless a service says so here.
   */
  accept?: Array<'user' | 'client'>;
  /** A custom `typ` to require instead (overrides `accept`). */
  typ?: string;
  /** Accept only these algorithms (default: whatever each key is for). */
  algorithms?: Algorithm[];
  leeway?: Duration;
  maxTokenBytes?: number;
  /** How long fetched keys are used before a background refresh (default '10m'). */
  jwksCacheTTL?: Duration;
  /** Minimum time between JWKS fetches, including those for unknown kids (default '30s'). */
  jwksCooldown?: Duration;
  /** Verified tokens remembered (by their exact bytes) to skip repeat signature checks (default 10000; 0: off). */
  cacheSize?: number;
  /**
   * Subscribe to the auth service's revocation feed — its store's URL (`redis://…`, `postgres://…`,
   * `sqlite:…`) or a Store — so a logged-out or blocked user's tokens are refused within milliseconds
   * instead of at expiry. Checks are memory lookups; while the feed is down each check asks the store.
   */
  revocations?: string | Store;
  clock?: Clock;
  fetch?: typeof fetch;
  onError?: (error: unknown) => void;
}

export type VerifyFailureCode = 'token_invalid' | 'token_expired' | 'token_revoked' | 'jwks_unavailable';

export type TokenVerification =
  | { ok: true; claims: JWTClaims; kind: 'user' | 'client' }
  | { ok: false; code: VerifyFailureCode; reason: string };

export interface Verifier {
  verify(token: string): Promise<TokenVerification>;
  /** Resolves when the revocation feed (if any) is subscribed. */
  ready(): Promise<void>;
  /** Stops the revocation feed and closes a store opened from a URL. */
  close(): Promise<void>;
}

export function createVerifier(options: VerifierOptions): Verifier {
  if (!options || (options.jwksURL === undefined) === (options.keys === undefined)) {
    throw configurationError('createVerifier needs exactly one of jwksURL or keys');
  }
  const clock = options.clock ?? systemClock;
  const allowed = options.algorithms ? new Set(options.algorithms) : null;
  const accept = new Set(options.accept ?? ['user']);
  if (accept.size === 0 || [...accept].some((kind) => kind !== 'user' && kind !== 'client')) {
    throw configurationError("accept must list 'user' and/or 'client'");
  }
  /** The typ to require of a token, from what its header claims and what this verifier accepts. */
  const expectedTyp = (headerTyp: unknown): string => {
    if (options.typ !== undefined) return options.typ;
    const claimed =
      typeof headerTyp === 'string' ? headerTyp.toLowerCase().replace(/^application\//, '') : '';
    if (claimed === CLIENT_TOKEN_TYPE && accept.has('client')) return CLIENT_TOKEN_TYPE;
    return accept.has('user') ? ACCESS_TOKEN_TYPE : CLIENT_TOKEN_TYPE;
  };
  const verifyOptions = {
    typ: ACCESS_TOKEN_TYPE,
    issuer: options.issuer ?? 'keycard',
    audience: options.audience ?? 'keycard',
    leewaySeconds: parseDuration(options.leeway ?? '10s', 'leeway'),
    maxTokenBytes: options.maxTokenBytes ?? 8192,
  };
  const allowedKey = (key: JWTKey | undefined | null): JWTKey | undefined =>
    key && (allowed === null || allowed.has(key.alg)) ? key : undefined;

  let remote: RemoteKeySet | null = null;
  let local: ReturnType<typeof createKeySet> | null = null;
  if (options.jwksURL !== undefined) {
    let url: URL;
    try {
      url = new URL(options.jwksURL);
    } catch {
      throw configurationError('jwksURL is not a URL');
    }
    if (url.protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
      throw configurationError('jwksURL must use https (plain http only for localhost)');
    }
    remote = createRemoteKeySet({
      url,
      ttlMs: parseDuration(options.jwksCacheTTL ?? '10m', 'jwksCacheTTL') * 1000,
      cooldownMs: parseDuration(options.jwksCooldown ?? '30s', 'jwksCooldown') * 1000,
      timeoutMs: 5000,
      fetch: options.fetch ?? fetch,
      now: () => clock.now(),
      onError: options.onError,
    });
  } else {
    local = createKeySet(
      (options.keys ?? []).map((key, index) =>
        'verifyKey' in key ? (key as JWTKey) : importJWK(key as never, `keys[${index}]`),
      ),
    );
  }

  /** The header's kid and typ, read only to pick the key and the expected type (verifyJWT checks all). */
  const headerOf = (token: string): { kid: string | undefined; typ: unknown } => {
    try {
      const header = JSON.parse(
        Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'),
      );
      return { kid: typeof header?.kid === 'string' ? header.kid : undefined, typ: header?.typ };
    } catch {
      return { kid: undefined, typ: undefined };
    }
  };

  // The revocation feed: a store opened from a URL (closed with the verifier) or one given.
  let revocationStore: Promise<Store> | null = null;
  let monitor: Promise<RevocationMonitor> | null = null;
  if (options.revocations !== undefined) {
    const source = options.revocations;
    revocationStore = typeof source === 'string' ? openStore(source, { clock }) : Promise.resolve(source);
    monitor = revocationStore.then(async (store) => {
      const created = new RevocationMonitor(store, { clock, onError: options.onError });
      await created.start();
      return created;
    });
    monitor.catch((error) => options.onError?.(error));
  }

  const revoked = async (claims: JWTClaims): Promise<boolean> => {
    if (!monitor) return false;
    const sid = typeof claims.sid === 'string' ? claims.sid : '';
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const verdict = (await monitor).check(sid, sub, (typeof claims.iat === 'number' ? claims.iat : 0) * 1000);
    return typeof verdict === 'boolean' ? verdict : await verdict;
  };

  const finish = async (result: VerifyResult): Promise<TokenVerification> => {
    if (!result.ok) return { ok: false, code: result.code, reason: result.reason };
    if (await revoked(result.claims)) return { ok: false, code: 'token_revoked', reason: 'revoked' };
    const typ = String(result.header.typ)
      .toLowerCase()
      .replace(/^application\//, '');
    return { ok: true, claims: result.claims, kind: typ === CLIENT_TOKEN_TYPE ? 'client' : 'user' };
  };

  const cache = new VerifiedTokenCache(options.cacheSize ?? 10_000, verifyOptions.leewaySeconds);
  const currentKey = (kid: string): JWTKey | undefined =>
    allowedKey(local ? local.get(kid) : remote?.peek(kid));
  const verifyAndCache = (token: string, resolve: KeyResolver, now: number): Promise<TokenVerification> => {
    const result = verifyJWT(token, resolve, {
      ...verifyOptions,
      typ: expectedTyp(headerOf(token).typ),
      now,
    });
    cache.set(token, result);
    return finish(result);
  };

  return {
    async ready() {
      await monitor;
    },
    async close() {
      await (await monitor?.catch(() => null))?.close();
      if (typeof options.revocations === 'string') await (await revocationStore?.catch(() => null))?.close();
    },
    async verify(token) {
      const now = clock.now() / 1000;
      const cached = cache.get(token, now, currentKey);
      if (cached) return finish(cached);
      if (local) {
        const resolve = keySetResolver(local);
        return verifyAndCache(token, (header) => allowedKey(resolve(header)), now);
      }
      const keys = remote as RemoteKeySet;
      if (typeof token !== 'string' || token.length > verifyOptions.maxTokenBytes) {
        return { ok: false, code: 'token_invalid', reason: 'too_large' };
      }
      // Known kid: verify at once. Unknown: fetch (rate-limited) and try again.
      const { kid } = headerOf(token);
      let key = keys.peek(kid);
      if (!key) {
        key = (await keys.get(kid)) ?? undefined;
        if (!key && keys.empty)
          return { ok: false, code: 'jwks_unavailable', reason: 'the JWKS could not be fetched' };
      }
      return verifyAndCache(token, () => allowedKey(key), now);
    },
  };
}
