/**
 * JWT verification (RFC 7519 on RFC 7515 compact JWS) on synchronous node:crypto, strict by construction.
 * The rules — size cap, structure, canonical base64url, `none`/`crit`/`b64` refused, the key's algorithm
 * the only one accepted, `typ`, `exp` required, `nbf`/`iat`/`iss`/`aud` with a small leeway — are the
 * crypto-free ones of checks.ts, shared with keycard/verify's Web build; this file adds Node's decoding
 * and the signature check, and keeps the whole path synchronous (it runs on every request).
 * Failures are a result with a code (`token_expired` or `token_invalid`) and a short reason for logs;
 * neither ever contains the token.
 */
import { verifyBytes } from './algorithms.js';
import {
  checkClaims,
  checkKeyBinding,
  createHeaderParser,
  invalid,
  type JWTClaims,
  type JWTHeader,
  type KeyResolver as KeyResolverOf,
  parseJSONObject,
  parseJWS,
  type Verified,
  type VerifyFailure,
  type VerifyOptions,
} from './checks.js';
import type { JWTKey } from './keys.js';

export {
  type JWTClaims,
  type JWTHeader,
  keySetResolver,
  type VerifyFailure,
  type VerifyOptions,
} from './checks.js';

export type VerifyResult = Verified<JWTKey> | VerifyFailure;

/** Finds the key for a header; undefined when none fits. */
export type KeyResolver = KeyResolverOf<JWTKey>;

/** Decoded headers by their encoded segment: a key's tokens all share one, so each is parsed once. */
const parseHeader = createHeaderParser((segment) => Buffer.from(segment, 'base64url').toString('utf8'));

/** Checks the JWS layer: structure, header, key and signature. Claims are not looked at. */
export function verifyJWS(
  token: string,
  resolveKey: KeyResolver,
  maxTokenBytes: number,
): { ok: true; header: JWTHeader; payload: string; key: JWTKey } | VerifyFailure {
  const parts = parseJWS(token, maxTokenBytes, parseHeader);
  if (!parts.ok) return parts;
  const key = resolveKey(parts.header);
  const unbound = checkKeyBinding(parts, key);
  if (unbound !== null) return unbound;
  const bound = key as JWTKey; // checkKeyBinding refuses a missing key
  const signature = Buffer.from(parts.signature, 'base64url');
  if (!verifyBytes(bound.alg, bound.verifyKey, parts.signingInput, signature)) return invalid('signature');
  return { ok: true, header: parts.header, payload: parts.payload, key: bound };
}

/** Verifies a JWT: the JWS layer, then `typ` and the claims. */
export function verifyJWT(token: string, resolveKey: KeyResolver, options: VerifyOptions): VerifyResult {
  const jws = verifyJWS(token, resolveKey, options.maxTokenBytes);
  if (!jws.ok) return jws;
  // The payload segment was checked to be canonical base64url by verifyJWS: decode it directly.
  const claims = parseJSONObject(Buffer.from(jws.payload, 'base64url').toString('utf8'));
  const failure = checkClaims(jws.header, claims, options);
  if (failure !== null) return failure;
  return { ok: true, header: jws.header, claims: claims as JWTClaims, key: jws.key };
}
