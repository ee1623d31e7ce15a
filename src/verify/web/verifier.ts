/**
 * keycard/verify's Web build: the same verifier as on Node — the same options (policy.ts), the same rules
 * (core/jwt/checks.ts), the same JWKS caching (key-cache.ts), the same results — with WebCrypto for the
 * signatures, so it runs in Cloudflare Workers (workerd, no Node compatibility flag), browsers and any
 * Fetch-API runtime. Keys are imported once into CryptoKeys, never per request. WebCrypto is asynchronous,
 * so verification is too; it has no revocation feed (that needs a Store, which a Worker cannot open).
 */
import { configurationError } from '../../core/errors.js';
import { VerifiedTokenCache } from '../../core/jwt/cache.js';
import {
  checkClaims,
  checkKeyBinding,
  createHeaderParser,
  invalid,
  type JWTHeader,
  keySetResolver,
  parseJSONObject,
  parseJWS,
  type Verified,
  type VerifyFailure,
} from '../../core/jwt/checks.js';
import { indexByKid, type JWKInput } from '../../core/jwt/jwk-rules.js';
import { createKeyCache, type KeyCache } from '../key-cache.js';
import {
  type CommonVerifierOptions,
  resolveVerifierPolicy,
  type TokenVerification,
  toVerification,
} from '../policy.js';
import { authenticateRequest, type RequestAuthentication, type RequestLike } from '../request-auth.js';
import { base64urlToBytes, checkWebJWK, importWebJWK, verifySignature, type WebJWTKey } from './keys.js';

export interface WebVerifierOptions extends CommonVerifierOptions {
  /** Or the keys themselves, as JWKs: public keys, or an HS256 secret (`{"kty": "oct", "k": …}`). */
  keys?: JWKInput[];
  /**
   * Not available here: the revocation feed needs a Store (Redis, PostgreSQL, SQLite), which Workers and
   * browsers cannot open. Given anyway, createVerifier throws `invalid_configuration`.
   */
  revocations?: never;
}

export interface WebVerifier {
  verify(token: string): Promise<TokenVerification>;
  /** Verifies a Fetch request's `Authorization: Bearer` token; on failure, the answer to send. */
  authenticate(request: RequestLike): Promise<RequestAuthentication>;
  /** Resolves when the given keys are imported; rejects (`invalid_configuration`) when one cannot be. */
  ready(): Promise<void>;
  /** Nothing to close on the Web (no feed); kept so code written for Node runs unchanged. */
  close(): Promise<void>;
}

interface LocalKeys {
  get(kid: string): WebJWTKey | undefined;
  keys: readonly WebJWTKey[];
}

const decoder = new TextDecoder();
const parseHeader = createHeaderParser((segment) => decoder.decode(base64urlToBytes(segment)));

export function createVerifier(options: WebVerifierOptions): WebVerifier {
  if (options && (options as { revocations?: unknown }).revocations !== undefined) {
    throw configurationError(
      "revocations is not available in keycard/verify's Web build (Workers, browsers): the revocation feed needs a Store. Verify statelessly here (short access tokens), or run the verifier on Node, Bun or Deno",
    );
  }
  const policy = resolveVerifierPolicy(options);
  const { clock } = policy;

  let remote: KeyCache<WebJWTKey> | null = null;
  let local: LocalKeys | null = null;
  let localReady: Promise<void> = Promise.resolve();
  if (policy.jwks !== null) {
    // Called as a plain function: workerd refuses a `fetch` invoked as another object's method.
    const fetchJWKS = options.fetch ?? ((input, init) => fetch(input, init));
    remote = createKeyCache({
      ...policy.jwks,
      fetch: fetchJWKS,
      now: () => clock.now(),
      importKey: importWebJWK,
      onError: options.onError,
    });
  } else {
    const given = options.keys ?? [];
    if (!Array.isArray(given)) throw configurationError('keys must be a list of JWKs');
    // The rules run now, so a bad key throws here as on Node; only the WebCrypto import waits.
    for (const [index, jwk] of given.entries()) checkWebJWK(jwk, `keys[${index}]`);
    localReady = Promise.all(given.map((jwk, index) => importWebJWK(jwk, `keys[${index}]`))).then((keys) => {
      const byKid = indexByKid(keys);
      local = { get: (kid) => byKid.get(kid), keys };
    });
    localReady.catch((error) => options.onError?.(error));
  }

  const cache = new VerifiedTokenCache<WebJWTKey>(policy.cacheSize, policy.leewaySeconds);
  const currentKey = (kid: string): WebJWTKey | undefined =>
    policy.allowedKey(local ? local.get(kid) : remote?.peek(kid));

  /** The key for a token's header: from the given keys, or the JWKS (fetched when the kid is unknown). */
  const findKey = async (header: JWTHeader): Promise<WebJWTKey | undefined | 'unavailable'> => {
    if (remote === null) {
      await localReady;
      return keySetResolver(local as LocalKeys)(header);
    }
    if (header.kid !== undefined && typeof header.kid !== 'string') return undefined;
    const key = (await remote.get(header.kid)) ?? undefined;
    return key === undefined && remote.empty ? 'unavailable' : key;
  };

  const verify = async (token: string): Promise<TokenVerification> => {
    const now = clock.now() / 1000;
    const cached = cache.get(token, now, currentKey);
    if (cached) return toVerification(cached);
    const parts = parseJWS(token, policy.maxTokenBytes, parseHeader);
    if (!parts.ok) return toVerification(parts);
    const found = await findKey(parts.header);
    if (found === 'unavailable') {
      return { ok: false, code: 'jwks_unavailable', reason: 'the JWKS could not be fetched' };
    }
    const key = policy.allowedKey(found);
    const unbound = checkKeyBinding(parts, key);
    if (unbound !== null) return toVerification(unbound);
    const bound = key as WebJWTKey; // checkKeyBinding refuses a missing key
    const signature = base64urlToBytes(parts.signature);
    if (!(await verifySignature(bound, parts.signingInput, signature))) {
      return toVerification(invalid('signature'));
    }
    const claims = parseJSONObject(decoder.decode(base64urlToBytes(parts.payload)));
    const failure = checkClaims(parts.header, claims, {
      issuer: policy.issuer,
      audience: policy.audience,
      leewaySeconds: policy.leewaySeconds,
      maxTokenBytes: policy.maxTokenBytes,
      typ: policy.expectedTyp(parts.header.typ),
      now,
    });
    const result: Verified<WebJWTKey> | VerifyFailure = failure ?? {
      ok: true,
      header: parts.header,
      claims: claims as Verified<WebJWTKey>['claims'],
      key: bound,
    };
    cache.set(token, result);
    return toVerification(result);
  };

  return {
    verify,
    authenticate: (request) => authenticateRequest(verify, request),
    ready: () => localReady,
    close: async () => {},
  };
}
