/**
 * The verifier for services that only check tokens ("Service B"): it never holds a signing key and never
 * calls the auth service per request. Keys come from the auth service's JWKS (fetched and cached) or are
 * given directly; verification is keycard's strict `verifyJWT` on node:crypto. Options are read by
 * policy.ts, which the Web build (web/verifier.ts, on WebCrypto) shares.
 */
import {
  createKeySet,
  importJWK,
  type JWTClaims,
  type JWTKey,
  type KeyResolver,
  keySetResolver,
  RevocationMonitor,
  type Store,
  VerifiedTokenCache,
  type VerifyResult,
  verifyJWT,
} from 'keycard';
import { openStore } from 'keycard/stores';
import { createRemoteKeySet, type RemoteKeySet } from './jwks.js';
import {
  type CommonVerifierOptions,
  resolveVerifierPolicy,
  type TokenVerification,
  toVerification,
} from './policy.js';
import { authenticateRequest, type RequestAuthentication, type RequestLike } from './request-auth.js';

export type { TokenVerification, VerifyFailureCode } from './policy.js';

export interface VerifierOptions extends CommonVerifierOptions {
  /** Or the keys themselves: public JWKs, or keys from importJWK/generateJWTKey. */
  keys?: Array<JWTKey | Record<string, unknown>>;
  /**
   * Subscribe to the auth service's revocation feed — its store's URL (`redis://…`, `postgres://…`,
   * `sqlite:…`) or a Store — so a logged-out or blocked user's tokens are refused within milliseconds
   * instead of at expiry. Checks are memory lookups; while the feed is down each check asks the store.
   */
  revocations?: string | Store;
}

export interface Verifier {
  verify(token: string): Promise<TokenVerification>;
  /** Verifies a Fetch-style request's `Authorization: Bearer` token; on failure, the answer to send. */
  authenticate(request: RequestLike): Promise<RequestAuthentication>;
  /** Resolves when the revocation feed (if any) is subscribed. */
  ready(): Promise<void>;
  /** Stops the revocation feed and closes a store opened from a URL. */
  close(): Promise<void>;
}

export function createVerifier(options: VerifierOptions): Verifier {
  const policy = resolveVerifierPolicy(options);
  const { clock } = policy;
  const verifyOptions = {
    issuer: policy.issuer,
    audience: policy.audience,
    leewaySeconds: policy.leewaySeconds,
    maxTokenBytes: policy.maxTokenBytes,
  };

  let remote: RemoteKeySet | null = null;
  let local: ReturnType<typeof createKeySet> | null = null;
  if (policy.jwks !== null) {
    remote = createRemoteKeySet({
      ...policy.jwks,
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
    if (result.ok && (await revoked(result.claims)))
      return { ok: false, code: 'token_revoked', reason: 'revoked' };
    return toVerification(result);
  };

  const cache = new VerifiedTokenCache(policy.cacheSize, verifyOptions.leewaySeconds);
  const currentKey = (kid: string): JWTKey | undefined =>
    policy.allowedKey(local ? local.get(kid) : remote?.peek(kid));
  const verifyAndCache = (token: string, resolve: KeyResolver, now: number): Promise<TokenVerification> => {
    const result = verifyJWT(token, resolve, {
      ...verifyOptions,
      typ: policy.expectedTyp(headerOf(token).typ),
      now,
    });
    cache.set(token, result);
    return finish(result);
  };

  const verify = async (token: string): Promise<TokenVerification> => {
    const now = clock.now() / 1000;
    const cached = cache.get(token, now, currentKey);
    if (cached) return finish(cached);
    if (local) {
      const resolve = keySetResolver(local);
      return verifyAndCache(token, (header) => policy.allowedKey(resolve(header)), now);
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
    return verifyAndCache(token, () => policy.allowedKey(key), now);
  };

  return {
    verify,
    authenticate: (request) => authenticateRequest(verify, request),
    async ready() {
      await monitor;
    },
    async close() {
      await (await monitor?.catch(() => null))?.close();
      if (typeof options.revocations === 'string') await (await revocationStore?.catch(() => null))?.close();
    },
  };
}
