/**
 * The framework-free half of a resource server's middleware: read `Authorization: Bearer`, verify the
 * token with a `Verifier`, check its scopes, and say what to answer when it fails — a KeycardError and the
 * RFC 6750 §3 `WWW-Authenticate` challenge. keycard/express and keycard/fastify (`verifyToken`,
 * `requireScope`) only translate these outcomes to their frameworks; no rule lives there.
 */
import { type AuthUser, type JWTClaims, KeycardError, userFromClaims } from 'keycard';
import { authenticateRequest } from './request-auth.js';
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

const noToken = (): BearerRefusal => ({
  error: new KeycardError('unauthenticated', 'send an access token: Authorization: Bearer <token>'),
  challenge: 'Bearer',
});

/**
 * Verifies the request's Bearer token (the `Authorization` header's value); the refusal on failure. The
 * header's rules and the answers are request-auth.ts's, shared with the Fetch-style `authenticate`.
 */
export async function verifyBearer(
  verifier: Verifier,
  authorization: string | undefined,
): Promise<BearerOutcome> {
  const headers = { get: () => authorization ?? null };
  const result = await authenticateRequest((token) => verifier.verify(token), { headers });
  if (!result.ok) {
    const { code, message } = result.body.error;
    return { error: new KeycardError(code, message), challenge: result.challenge };
  }
  const { claims, kind } = result;
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  const client = kind === 'client' && typeof claims.client_id === 'string' ? { id: claims.client_id } : null;
  return { token: { claims, kind, user: kind === 'user' ? userFromClaims(claims) : null, client, scopes } };
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
