/**
 * What a verifier accepts, decided once from its options: issuer, audience, leeway, size cap, which token
 * types (users' and/or API clients'), which algorithms, and how the JWKS is fetched. Shared by the Node
 * verifier (verifier.ts) and the Web one (web/verifier.ts), so both read options, and refuse bad ones, the
 * same way. Crypto-free and free of `node:` modules.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { configurationError } from '../core/errors.js';
import type { Algorithm } from '../core/jwt/algorithm-names.js';
import type { BoundKey, JWTClaims, Verified, VerifyFailure } from '../core/jwt/checks.js';
import { ACCESS_TOKEN_TYPE, CLIENT_TOKEN_TYPE, normalizeTyp } from '../core/jwt/token-types.js';

/** The options every verifier takes (the Node one adds `revocations` and node:crypto keys). */
export interface CommonVerifierOptions {
  /** The auth service's JWKS, e.g. https://auth.example/.well-known/jwks.json. */
  jwksURL?: string | URL;
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
  clock?: Clock;
  fetch?: typeof fetch;
  onError?: (error: unknown) => void;
}

export type VerifyFailureCode = 'token_invalid' | 'token_expired' | 'token_revoked' | 'jwks_unavailable';

export type TokenVerification =
  | { ok: true; claims: JWTClaims; kind: 'user' | 'client' }
  | { ok: false; code: VerifyFailureCode; reason: string };

export interface VerifierPolicy {
  /** The claim checks' options, less `now` and `typ` (which depend on the moment and the token). */
  issuer: string;
  audience: string;
  leewaySeconds: number;
  maxTokenBytes: number;
  /** The typ to require of a token, from what its header claims and what this verifier accepts. */
  expectedTyp(headerTyp: unknown): string;
  /** The key if this verifier accepts its algorithm; undefined otherwise. */
  allowedKey<K extends BoundKey>(key: K | undefined | null): K | undefined;
  /** The JWKS to fetch, or null when keys were given. */
  jwks: { url: URL; ttlMs: number; cooldownMs: number; timeoutMs: number } | null;
  cacheSize: number;
  clock: Clock;
}

/** Reads and checks the options; throws `invalid_configuration` saying what to change. */
export function resolveVerifierPolicy(options: CommonVerifierOptions & { keys?: unknown }): VerifierPolicy {
  if (!options || (options.jwksURL === undefined) === (options.keys === undefined)) {
    throw configurationError('createVerifier needs exactly one of jwksURL or keys');
  }
  const allowed = options.algorithms ? new Set(options.algorithms) : null;
  const accept = new Set(options.accept ?? ['user']);
  if (accept.size === 0 || [...accept].some((kind) => kind !== 'user' && kind !== 'client')) {
    throw configurationError("accept must list 'user' and/or 'client'");
  }
  let jwks: VerifierPolicy['jwks'] = null;
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
    jwks = {
      url,
      ttlMs: parseDuration(options.jwksCacheTTL ?? '10m', 'jwksCacheTTL') * 1000,
      cooldownMs: parseDuration(options.jwksCooldown ?? '30s', 'jwksCooldown') * 1000,
      timeoutMs: 5000,
    };
  }
  return {
    issuer: options.issuer ?? 'keycard',
    audience: options.audience ?? 'keycard',
    leewaySeconds: parseDuration(options.leeway ?? '10s', 'leeway'),
    maxTokenBytes: options.maxTokenBytes ?? 8192,
    expectedTyp(headerTyp) {
      if (options.typ !== undefined) return options.typ;
      const claimed = typeof headerTyp === 'string' ? normalizeTyp(headerTyp) : '';
      if (claimed === CLIENT_TOKEN_TYPE && accept.has('client')) return CLIENT_TOKEN_TYPE;
      return accept.has('user') ? ACCESS_TOKEN_TYPE : CLIENT_TOKEN_TYPE;
    },
    allowedKey: (key) => (key && (allowed === null || allowed.has(key.alg)) ? key : undefined),
    jwks,
    cacheSize: options.cacheSize ?? 10_000,
    clock: options.clock ?? systemClock,
  };
}

/** A verification's outcome as a verifier reports it: the claims and whose token it is, or why not. */
export function toVerification<K extends BoundKey>(result: Verified<K> | VerifyFailure): TokenVerification {
  if (!result.ok) return { ok: false, code: result.code, reason: result.reason };
  const kind = normalizeTyp(String(result.header.typ)) === CLIENT_TOKEN_TYPE ? 'client' : 'user';
  return { ok: true, claims: result.claims, kind };
}
