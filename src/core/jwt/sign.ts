/** Compact JWS signing (RFC 7515 §7.1) of a JSON claims object. */

import { configurationError } from '../errors.js';
import { signBytes } from './algorithms.js';
import { encodeBase64url } from './base64url.js';
import type { JWTKey } from './keys.js';

export interface SignOptions {
  /** The `typ` header (RFC 8725 §3.11: explicit typing), e.g. `at+jwt` for access tokens (RFC 9068). */
  typ: string;
}

/** Header segments are the same for every token a key signs with one typ: encode each once. */
const headerCache = new Map<string, string>();

function encodedHeader(key: JWTKey, typ: string): string {
  const cacheKey = `${key.kid}\u0000${key.alg}\u0000${typ}`;
  let header = headerCache.get(cacheKey);
  if (header === undefined) {
    header = encodeBase64url(JSON.stringify({ alg: key.alg, typ, kid: key.kid }));
    if (headerCache.size > 256) headerCache.clear();
    headerCache.set(cacheKey, header);
  }
  return header;
}

export function signJWT(claims: Record<string, unknown>, key: JWTKey, options: SignOptions): string {
  if (!key.signKey)
    throw configurationError(
      `key ${key.kid} cannot sign (it has no private part, or its key_ops do not include sign)`,
    );
  const input = `${encodedHeader(key, options.typ)}.${encodeBase64url(JSON.stringify(claims))}`;
  return `${input}.${signBytes(key.alg, key.signKey, Buffer.from(input, 'latin1')).toString('base64url')}`;
}
