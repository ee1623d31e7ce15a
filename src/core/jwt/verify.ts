/**
 * JWT verification (RFC 7519 on RFC 7515 compact JWS), strict by construction:
 * - the size is capped before anything is decoded;
 * - exactly three segments, canonical base64url only, header and payload JSON objects;
 * - the key is found by `kid` and its algorithm is the only one accepted — the header's `alg` must equal
 *   it, so `none` (in any spelling) and algorithm confusion (RS256 → HS256 with the public key as secret)
 *   cannot work;
 * - `jku`, `x5u`, `jwk` and `x5c` are never followed; any `crit` is refused (we understand no extension);
 * - `typ` must be the expected one (RFC 8725 §3.11), `exp` is required, `nbf`/`iat`/`iss`/`aud` checked
 *   with a small leeway, and every NumericDate must be a finite number.
 * Failures are a result with a code (`token_expired` or `token_invalid`) and a short reason for logs;
 * neither ever contains the token.
 */
import { verifyBytes } from './algorithms.js';
import { decodeBase64url, isCanonicalBase64url } from './base64url.js';
import type { JWTKey } from './keys.js';

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
export type VerifyResult = { ok: true; header: JWTHeader; claims: JWTClaims; key: JWTKey } | VerifyFailure;

/** Finds the key for a header; undefined when none fits. */
export type KeyResolver = (header: JWTHeader) => JWTKey | undefined;

const invalid = (reason: string): VerifyFailure => ({ ok: false, code: 'token_invalid', reason });

/** Decoded headers by their encoded segment: a key's tokens all share one, so each is parsed once. */
const headerCache = new Map<string, JWTHeader | null>();

function parseObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeBase64url(segment);
  return bytes === null ? null : parseJSONObject(bytes);
}

function parseJSONObject(bytes: Buffer): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function parseHeader(segment: string): JWTHeader | null {
  const cached = headerCache.get(segment);
  if (cached !== undefined) return cached;
  const object = parseObject(segment);
  const header = object && typeof object.alg === 'string' ? (Object.freeze(object) as JWTHeader) : null;
  if (headerCache.size >= 1024) headerCache.clear();
  headerCache.set(segment, header);
  return header;
}

function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice(12) : lower;
}

const isNumericDate = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** Checks the JWS layer: structure, header, key and signature. Claims are not looked at. */
export function verifyJWS(
  token: string,
  resolveKey: KeyResolver,
  maxTokenBytes: number,
): { ok: true; header: JWTHeader; payload: string; key: JWTKey } | VerifyFailure {
  if (typeof token !== 'string' || token.length === 0) return invalid('empty');
  if (token.length > maxTokenBytes) return invalid('too_large');
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) return invalid('malformed');
  const headerSegment = token.slice(0, first);
  const payload = token.slice(first + 1, second);
  const signatureSegment = token.slice(second + 1);
  if (headerSegment === '' || payload === '' || signatureSegment === '') return invalid('malformed');
  const header = parseHeader(headerSegment);
  if (header === null) return invalid('malformed_header');
  if (header.alg.toLowerCase() === 'none') return invalid('alg_none');
  if (header.crit !== undefined) return invalid('crit');
  if (header.b64 !== undefined) return invalid('b64'); // RFC 7797 unencoded payloads are not accepted
  const key = resolveKey(header);
  if (!key) return invalid('unknown_key');
  if (header.alg !== key.alg) return invalid('alg_mismatch');
  if (!isCanonicalBase64url(payload) || !isCanonicalBase64url(signatureSegment)) return invalid('malformed');
  const signature = Buffer.from(signatureSegment, 'base64url');
  if (!verifyBytes(key.alg, key.verifyKey, token.slice(0, second), signature)) return invalid('signature');
  return { ok: true, header, payload, key };
}

/** Verifies a JWT: the JWS layer, then `typ` and the claims. */
export function verifyJWT(token: string, resolveKey: KeyResolver, options: VerifyOptions): VerifyResult {
  const jws = verifyJWS(token, resolveKey, options.maxTokenBytes);
  if (!jws.ok) return jws;
  const { header } = jws;
  const typ = header.typ;
  if (typeof typ !== 'string' || (typ !== options.typ && normalizeTyp(typ) !== normalizeTyp(options.typ))) {
    return invalid('typ');
  }
  // The payload segment was checked to be canonical base64url by verifyJWS: decode it directly.
  const claims = parseJSONObject(Buffer.from(jws.payload, 'base64url'));
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
  return { ok: true, header, claims: claims as JWTClaims, key: jws.key };
}

/** Resolves by `kid` in a key set; a token without `kid` is accepted only when the set has one key. */
export function keySetResolver(keys: {
  get(kid: string): JWTKey | undefined;
  keys: readonly JWTKey[];
}): KeyResolver {
  return (header) => {
    if (typeof header.kid === 'string') return keys.get(header.kid);
    return header.kid === undefined && keys.keys.length === 1 ? keys.keys[0] : undefined;
  };
}
