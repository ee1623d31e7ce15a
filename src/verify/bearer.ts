/**
 * The framework-free half of a resource server's middleware: read `Authorization: Bearer`, verify the
 * token with a `Verifier`, check its scopes, and say what to answer when it fails — a KeycardError and the
 * RFC 6750 §3 `WWW-Authenticate` challenge. keycard/express and keycard/fastify (`verifyToken`,
 * `requireScope`) only translate these outcomes to their frameworks; no rule lives there.
 */
import { type AuthUser, type JWTClaims, KeycardError, userFromClaims } from 'keycard';
import type { Verifier } from './verifier.js';

export interface VerifiedToken {
  claims: JWTClaims;
  /** A user's access token, or an API client's (client credentials). */
  kind: 'user' | 'client';
  /** The user, for user access tokens; null for client tokens. */
  user: AuthUser | null;
  /** The client, for client tokens; null for user tokens. */
  client: { id: string } | null;
  /** The token's scopes (client tokens carry them; user tokens have none). */
  scopes: string[];
}

/** A refused request: the error to send (its status and body) and the `WWW-Authenticate` value. */
export interface BearerRefusal {
  error: KeycardError;
  challenge: string;
}

export type BearerOutcome = { token: VerifiedToken } | BearerRefusal;

// RFC 6750 §2.1: b64token, case-insensitive scheme.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

const noToken = (): BearerRefusal => ({
  error: new KeycardError('unauthenticated', 'send an access token: Authorization: Bearer <token>'),
  challenge: 'Bearer',
});

/** Verifies the request's Bearer token (the `Authorization` header's value); the refusal on failure. */
export async function verifyBearer(
  verifier: Verifier,
  authorization: string | undefined,
): Promise<BearerOutcome> {
  if (authorization === undefined) return noToken();
  const match = BEARER.exec(authorization);
  if (!match) {
    return {
      error: new KeycardError('token_invalid', 'the Authorization header is not a Bearer token'),
      challenge: 'Bearer error="invalid_request"',
    };
  }
  const result = await verifier.verify(match[1] as string);
  if (result.ok) {
    const { claims, kind } = result;
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    const client =
      kind === 'client' && typeof claims.client_id === 'string' ? { id: claims.client_id } : null;
    return { token: { claims, kind, user: kind === 'user' ? userFromClaims(claims) : null, client, scopes } };
  }
  if (result.code === 'jwks_unavailable') {
    return {
      error: new KeycardError('jwks_unavailable', 'the signing keys cannot be fetched; try again shortly'),
      challenge: 'Bearer',
    };
  }
  const message =
    result.code === 'token_expired'
      ? 'the access token has expired'
      : result.code === 'token_revoked'
        ? 'the access token has been revoked'
        : 'the access token is invalid';
  return {
    error: new KeycardError(result.code, message),
    challenge: `Bearer error="invalid_token", error_description="${message}"`,
  };
}

// RFC 6750 §3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * The check behind `requireScope(...scopes)`: made once per route (a bad scope list is a configuration
 * error at start-up), then run per request on the verified token. It refuses a request without a verified
 * token (401) and a token missing any of `scopes` (403 `insufficient_scope`, the challenge naming them).
 * User tokens carry no scopes, so a scope-guarded route is for API clients only.
 */
export function scopeRequirement(
  scopes: string[],
): (token: VerifiedToken | undefined) => BearerRefusal | null {
  if (scopes.length === 0 || scopes.some((scope) => typeof scope !== 'string' || !SCOPE.test(scope))) {
    throw new KeycardError('invalid_configuration', 'requireScope needs scope names such as orders:read');
  }
  const challenge = `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"`;
  return (token) => {
    if (!token) return noToken();
    const missing = scopes.filter((scope) => !token.scopes.includes(scope));
    if (missing.length === 0) return null;
    return {
      error: new KeycardError('insufficient_scope', `this needs the scope ${missing.join(' ')}`),
      challenge,
    };
  };
}
