/**
 * Express and Fastify middleware for a resource server: reads `Authorization: Bearer`, verifies the token
 * with a `Verifier`, and puts the result on `req.token`. Failures follow RFC 6750 §3: 401 with a
 * `WWW-Authenticate: Bearer` challenge, and keycard's error body.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { FastifyReply, FastifyRequest, preHandlerHookHandler, RouteHandlerMethod } from 'fastify';
import { type AuthUser, type JWTClaims, KeycardError, userFromClaims } from 'keycard';
import { asyncHandler } from 'keycard/express';
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

/** An Express request that `verifyExpress` let through: `req.token` is always there. */
export interface VerifiedExpressRequest extends Request {
  token: VerifiedToken;
}

/**
 * Express: the route handler after `verifyExpress(verifier)`, typed with `req.token` present (not
 * optional), so handlers need no `!` or `?.`:
 *
 *   app.get('/orders', verifyExpress(verifier), withTokenExpress((req, res) => res.json(req.token.user)));
 *
 * A rejected promise goes to `next(error)` (Express 4 would drop it). A request that reaches it without a
 * verified token — `verifyExpress` missing from the route — is refused with 500 `invalid_configuration`,
 * never run unauthenticated.
 */
export function withTokenExpress(
  handler: (req: VerifiedExpressRequest, res: Response, next: NextFunction) => unknown,
): RequestHandler {
  const run = asyncHandler((req, res, next) => handler(req as VerifiedExpressRequest, res, next));
  return (req, res, next) => {
    if (!req.token) {
      next(unverified('withTokenExpress', 'verifyExpress(verifier)'));
      return;
    }
    run(req, res, next);
  };
}

function unverified(helper: string, middleware: string): KeycardError {
  return new KeycardError(
    'invalid_configuration',
    `${helper} runs only after ${middleware} on the same route`,
  );
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

/** A Fastify request that `verifyFastify` let through: `request.token` is always there. */
export interface VerifiedFastifyRequest extends FastifyRequest {
  token: VerifiedToken;
}

/**
 * Fastify: the route handler after `verifyFastify(verifier)`, typed with `request.token` present:
 *
 *   app.get('/orders', { preHandler: verifyFastify(verifier) }, withTokenFastify(async (request) => request.token.user));
 *
 * A request that reaches it without a verified token is refused with 500 `invalid_configuration`.
 */
export function withTokenFastify(
  handler: (request: VerifiedFastifyRequest, reply: FastifyReply) => unknown,
): RouteHandlerMethod {
  return async (request, reply) => {
    if (!request.token) throw unverified('withTokenFastify', 'verifyFastify(verifier)');
    return handler(request as VerifiedFastifyRequest, reply);
  };
}

/** Why a verified token may not use a route; null when it may. */
function missingScopes(token: VerifiedToken | undefined, scopes: string[]): KeycardError | null {
  if (!token)
    return new KeycardError('unauthenticated', 'send an access token: Authorization: Bearer <token>');
  const missing = scopes.filter((scope) => !token.scopes.includes(scope));
  return missing.length === 0
    ? null
    : new KeycardError('insufficient_scope', `this needs the scope ${missing.join(' ')}`);
}

const scopeChallenge = (scopes: string[]) => `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"`;

function checkScopeList(scopes: string[]): void {
  if (
    scopes.length === 0 ||
    scopes.some((scope) => typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))
  ) {
    throw new KeycardError('invalid_configuration', 'requireScope needs scope names such as orders:read');
  }
}

/**
 * Express: after `verifyExpress`, refuse tokens without every one of `scopes` — 403 with an RFC 6750
 * `insufficient_scope` challenge. User tokens carry no scopes, so a scope-guarded route is client-only.
 */
export function requireScopeExpress(...scopes: string[]): RequestHandler {
  checkScopeList(scopes);
  return (req, res, next) => {
    const error = missingScopes(req.token, scopes);
    if (!error) return next();
    res.setHeader(
      'www-authenticate',
      error.code === 'insufficient_scope' ? scopeChallenge(scopes) : 'Bearer',
    );
    res.status(error.status).json(error.toJSON());
  };
}

/** Fastify: `{ preHandler: [verifyFastify(verifier), requireScopeFastify('orders:read')] }`. */
export function requireScopeFastify(...scopes: string[]): preHandlerHookHandler {
  checkScopeList(scopes);
  return async (request, reply) => {
    const error = missingScopes(request.token, scopes);
    if (!error) return;
    return reply
      .code(error.status)
      .header('www-authenticate', error.code === 'insufficient_scope' ? scopeChallenge(scopes) : 'Bearer')
      .send(error.toJSON());
  };
}
