/**
 * `authenticate(request)` for Fetch-style requests (Workers, Deno, Bun, Hono, Node's `Request`): reads
 * `Authorization: Bearer` (RFC 6750 §2.1), verifies the token, and on failure says what to answer — the
 * status from keycard's one error table, the `WWW-Authenticate` challenge of RFC 6750 §3 and keycard's
 * error body — the answers the Express/Fastify middleware give. Free of `node:` modules.
 */
import { type ErrorCode, errorStatus } from '../core/errors.js';
import type { JWTClaims } from '../core/jwt/checks.js';
import type { TokenVerification, VerifyFailureCode } from './policy.js';

/** RFC 6750 §2.1: `Bearer` (any case), one space, a b64token. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

export type AuthenticationFailureCode = 'unauthenticated' | VerifyFailureCode;

export type RequestAuthentication =
  | { ok: true; claims: JWTClaims; kind: 'user' | 'client'; token: string }
  | {
      ok: false;
      code: AuthenticationFailureCode;
      /** For logs: why, in a word (never the token). */
      reason: string;
      /** The HTTP status to answer: 401, or 503 when the keys cannot be fetched. */
      status: number;
      /** The `WWW-Authenticate` header to send (RFC 6750 §3). */
      challenge: string;
      /** keycard's error body: `{"error": {"code", "message"}}`. */
      body: { error: { code: ErrorCode; message: string } };
    };

type Failure = Extract<RequestAuthentication, { ok: false }>;

function failure(
  code: AuthenticationFailureCode,
  reason: string,
  message: string,
  challenge: string,
): Failure {
  return {
    ok: false,
    code,
    reason,
    status: errorStatus[code],
    challenge,
    body: { error: { code, message } },
  };
}

/** A Fetch request's headers, or anything with the same `get`. */
export interface RequestLike {
  headers: { get(name: string): string | null };
}

/** Authenticates a request by its Bearer token with `verify`. Untrusted input failing is a result. */
export async function authenticateRequest(
  verify: (token: string) => Promise<TokenVerification>,
  request: RequestLike,
): Promise<RequestAuthentication> {
  const authorization = request.headers.get('authorization');
  if (authorization === null) {
    return failure(
      'unauthenticated',
      'missing',
      'send an access token: Authorization: Bearer <token>',
      'Bearer',
    );
  }
  const match = BEARER.exec(authorization);
  if (!match) {
    return failure(
      'token_invalid',
      'not_bearer',
      'the Authorization header is not a Bearer token',
      'Bearer error="invalid_request"',
    );
  }
  const token = match[1] as string;
  const result = await verify(token);
  if (result.ok) return { ok: true, claims: result.claims, kind: result.kind, token };
  if (result.code === 'jwks_unavailable') {
    return failure(
      result.code,
      result.reason,
      'the signing keys cannot be fetched; try again shortly',
      'Bearer',
    );
  }
  const message =
    result.code === 'token_expired'
      ? 'the access token has expired'
      : result.code === 'token_revoked'
        ? 'the access token has been revoked'
        : 'the access token is invalid';
  return failure(
    result.code,
    result.reason,
    message,
    `Bearer error="invalid_token", error_description="${message}"`,
  );
}
