/**
 * The crypto-free rules of JWT verification (RFC 7519 on RFC 7515 compact JWS), in the order verify.ts
 * applies them. Both verifiers run exactly these: verify.ts on synchronous node:crypto, and keycard/verify's
 * Web build on WebCrypto (Workers, browsers), which has no `node:` module and no Buffer — so nothing here
 * decodes bytes itself: the caller passes its decoder.
 * - the size is capped before anything is decoded;
 * - exactly three non-empty segments, canonical base64url only, header and payload JSON objects;
 * - `alg: none` (any spelling), any `crit` (we understand no extension) and RFC 7797 `b64` are refused;
 *   `jku`, `x5u`, `jwk` and `x5c` are never read, so never followed;
 * - the key is found by `kid` and its algorithm is the only one accepted: the header's `alg` must equal it
 *   (algorithm confusion, RS256 → HS256 with the public key as secret, cannot work);
 * - `typ` must be the expected one (RFC 8725 §3.11), `exp` is required, `nbf`/`iat`/`iss`/`aud` checked
 *   with a small leeway, and every NumericDate must be a finite number.
 * A failure is a value with a code and a short reason for logs; neither ever contains the token.
 */
import type { Algorithm } from './algorithm-names.js';
import { isCanonicalBase64url } from './base64url.js';
import { normalizeTyp } from './token-types.js';

export interface JWTHeader {
  alg: string;
  typ?: string;
  kid?: string;
  [name: string]: unknown;
}

export interface JWTClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [name: string]: unknown;
}

export interface VerifyOptions {
  /** Seconds since the epoch (fractions allowed). */
  now: number;
  /** Expected `typ` header, compared case-insensitively, with or without `application/`. */
  typ: string;
  issuer?: string;
  audience?: string;
  leewaySeconds: number;
  maxTokenBytes: number;
}

export type VerifyFailure = { ok: false; code: 'token_expired' | 'token_invalid'; reason: string };

/** A token that passed every rule, with the key that verified it. */
export interface Verified<K extends BoundKey> {
  ok: true;
  header: JWTHeader;
  claims: JWTClaims;
  key: K;
}

/** What the rules need of a key: the one algorithm it was imported for. */
export interface BoundKey {
  kid: string;
  alg: Algorithm;
}

/** Finds the key for a header; undefined when none fits. */
export type KeyResolver<K extends BoundKey> = (header: JWTHeader) => K | undefined;

export const invalid = (reason: string): VerifyFailure => ({ ok: false, code: 'token_invalid', reason });

/** A JSON object from text; null for anything else (an array, a number, broken JSON). */
export function parseJSONObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  // `typeof null` is 'object' too: null comes back as null.
  return typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown> | null)
    : null;
}

/** Turns a canonical base64url segment into UTF-8 text (Buffer on Node, atob + TextDecoder on the Web). */
export type SegmentDecoder = (segment: string) => string;

/**
 * A header parser over `decode`, caching by encoded segment: a key's tokens all share one header, so each
 * is parsed once. Null for a segment that is not canonical base64url of a JSON object with a string `alg`.
 */
export function createHeaderParser(decode: SegmentDecoder): (segment: string) => JWTHeader | null {
  const cache = new Map<string, JWTHeader | null>();
  return (segment) => {
    const cached = cache.get(segment);
    if (cached !== undefined) return cached;
    const object = isCanonicalBase64url(segment) ? parseJSONObject(decode(segment)) : null;
    const header = object && typeof object.alg === 'string' ? (Object.freeze(object) as JWTHeader) : null;
    if (cache.size >= 1024) cache.clear();
    cache.set(segment, header);
    return header;
  };
}

/** A compact JWS split into its parts, the header parsed and checked; the signature not yet looked at. */
export interface JWSParts {
  ok: true;
  header: JWTHeader;
  /** `header.payload`, the ASCII bytes the signature covers. */
  signingInput: string;
  payload: string;
  signature: string;
}

/** Size, structure and header rules: everything that needs neither the key nor the signature. */
export function parseJWS(
  token: string,
  maxTokenBytes: number,
  parseHeader: (segment: string) => JWTHeader | null,
): JWSParts | VerifyFailure {
  if (typeof token !== 'string' || token.length === 0) return invalid('empty');
  if (token.length > maxTokenBytes) return invalid('too_large');
  const first = token.indexOf('.');
  // Without a first dot (-1) the search starts at 0 and finds none either.
  const second = token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) return invalid('malformed');
  const headerSegment = token.slice(0, first);
  const payload = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  if (headerSegment === '' || payload === '' || signature === '') return invalid('malformed');
  const header = parseHeader(headerSegment);
  if (header === null) return invalid('malformed_header');
  if (header.alg.toLowerCase() === 'none') return invalid('alg_none');
  if (header.crit !== undefined) return invalid('crit');
  if (header.b64 !== undefined) return invalid('b64'); // RFC 7797 unencoded payloads are not accepted
  return { ok: true, header, signingInput: token.slice(0, second), payload, signature };
}

/**
 * The key rules: a key was found, the header's `alg` is the key's own, and the payload and signature are
 * canonical base64url (checked before any signature work). Null when the signature may be checked.
 */
export function checkKeyBinding(parts: JWSParts, key: BoundKey | undefined): VerifyFailure | null {
  if (!key) return invalid('unknown_key');
  if (parts.header.alg !== key.alg) return invalid('alg_mismatch');
  if (!isCanonicalBase64url(parts.payload) || !isCanonicalBase64url(parts.signature))
    return invalid('malformed');
  return null;
}

/** `Number.isFinite` does not coerce: a string, null or an array is no number to it. */
const isNumericDate = (value: unknown): value is number => Number.isFinite(value);

/**
 * The JWT rules after a good signature: `typ`, then the claims (`claims` is the decoded payload, null when
 * it was not a JSON object). Null when the token is valid now: `claims` is then a JWTClaims.
 */
export function checkClaims(
  header: JWTHeader,
  claims: Record<string, unknown> | null,
  options: VerifyOptions,
): VerifyFailure | null {
  const typ = header.typ;
  if (typeof typ !== 'string' || (typ !== options.typ && normalizeTyp(typ) !== normalizeTyp(options.typ))) {
    return invalid('typ');
  }
  if (claims === null) return invalid('malformed_payload');
  const { now, leewaySeconds: leeway } = options;
  if (!isNumericDate(claims.exp)) return invalid('exp_missing');
  if (claims.nbf !== undefined && !isNumericDate(claims.nbf)) return invalid('nbf_type');
  if (claims.iat !== undefined && !isNumericDate(claims.iat)) return invalid('iat_type');
  if (claims.nbf !== undefined && now + leeway < claims.nbf) return invalid('nbf');
  if (claims.iat !== undefined && claims.iat > now + leeway) return invalid('iat_future');
  if (options.issuer !== undefined && claims.iss !== options.issuer) return invalid('iss');
  if (options.audience !== undefined) {
    const aud = claims.aud;
    const matches =
      typeof aud === 'string'
        ? aud === options.audience
        : Array.isArray(aud) && aud.includes(options.audience);
    if (!matches) return invalid('aud');
  }
  if (claims.sub !== undefined && typeof claims.sub !== 'string') return invalid('sub_type');
  // Expiry last, so an expired token with a problem elsewhere is reported as invalid, not merely expired.
  if (now - leeway >= claims.exp) return { ok: false, code: 'token_expired', reason: 'exp' };
  return null;
}

/** Resolves by `kid` in a key set; a token without `kid` is accepted only when the set has one key. */
export function keySetResolver<K extends BoundKey>(keys: {
  get(kid: string): K | undefined;
  keys: readonly K[];
}): KeyResolver<K> {
  return (header) => {
    if (typeof header.kid === 'string') return keys.get(header.kid);
    return header.kid === undefined && keys.keys.length === 1 ? keys.keys[0] : undefined;
  };
}
