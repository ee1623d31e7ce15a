/**
 * Express and Fastify middleware for a resource server: reads `Authorization: Bearer`, verifies the token
 * with a `Verifier`, and puts the result on `req.token`. Failures follow RFC 6750 §3: 401 with a
 * `WWW-Authenticate: Bearer` challenge, and keycard's error body.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { type AuthUser, type JWTClaims, KeycardError, userFromClaims } from 'keycard';
import type { Verifier } from './verifier.js';

export interface VerifiedToken {
  claims: JWTClaims;
  /** The user, for user access tokens (null for other token types, e.g. client tokens). */
  user: AuthUser | null;
}

declare global {
  namespace Express {
    interface Request {
      token?: VerifiedToken;
    }
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: VerifiedToken;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** Verifies the request's Bearer token; the KeycardError to send on failure, with its challenge. */
export async function verifyBearer(
  verifier: Verifier,
  authorization: string | undefined,
): Promise<{ token: VerifiedToken } | { error: KeycardError; challenge: string }> {
  if (authorization === undefined) {
    return {
      error: new KeycardError('unauthenticated', 'send an access token: Authorization: Bearer <token>'),
      challenge: 'Bearer',
    };
  }
  const match = BEARER.exec(authorization);
  if (!match) {
    return {
      error: new KeycardError('token_invalid', 'the Authorization header is not a Bearer token'),
      challenge: 'Bearer error="invalid_request"',
    };
  }
  const result = await verifier.verify(match[1] as string);
  if (result.ok) return { token: { claims: result.claims, user: userFromClaims(result.claims) } };
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

/** Express: `app.use(verifyExpress(verifier))`; protected routes then read `req.token`. */
export function verifyExpress(verifier: Verifier): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    verifyBearer(verifier, req.headers.authorization).then((outcome) => {
      if ('token' in outcome) {
        req.token = outcome.token;
        next();
        return;
      }
      res.setHeader('www-authenticate', outcome.challenge);
      res.status(outcome.error.status).json(outcome.error.toJSON());
    }, next);
  };
}

/** Fastify: `{ preHandler: verifyFastify(verifier) }`; handlers then read `request.token`. */
export function verifyFastify(verifier: Verifier): preHandlerHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const outcome = await verifyBearer(verifier, request.headers.authorization);
    if ('token' in outcome) {
      request.token = outcome.token;
      return;
    }
    return reply
      .code(outcome.error.status)
      .header('www-authenticate', outcome.challenge)
      .send(outcome.error.toJSON());
  };
}
