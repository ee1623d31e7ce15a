/**
 * Fastify pre-handlers for a service that only checks tokens: `verifyToken` puts the verified Bearer
 * token on `request.token`, `withToken` types it as present in a handler, `requireScope` admits API
 * clients with the right scopes. The rules — the header's form, the verification, the RFC 6750
 * challenge, the scope check — are keycard/verify's (`verifyBearer`, `scopeRequirement`); this module
 * only translates.
 *
 *   app.get('/orders', { preHandler: verifyToken(verifier) }, withToken(async (request) => request.token.user));
 *   app.get('/reports', { preHandler: [verifyToken(services), requireScope('orders:read')] }, handler);
 */
import type { FastifyReply, FastifyRequest, preHandlerHookHandler, RouteHandlerMethod } from 'fastify';
import { KeycardError } from 'keycard';
import {
  type BearerRefusal,
  scopeRequirement,
  type VerifiedToken,
  type Verifier,
  verifyBearer,
} from 'keycard/verify';
import { sendKeycardError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified Bearer token, after the `verifyToken(verifier)` pre-handler. */
    token?: VerifiedToken;
  }
}

/** A Fastify request that `verifyToken` let through: `request.token` is always there. */
export interface VerifiedRequest extends FastifyRequest {
  token: VerifiedToken;
}

function refuse(reply: FastifyReply, refusal: BearerRefusal): FastifyReply {
  return sendKeycardError(reply.header('www-authenticate', refusal.challenge), refusal.error);
}

/**
 * `{ preHandler: verifyToken(verifier) }` (or an `onRequest` hook): verifies `Authorization: Bearer` and
 * sets `request.token`; otherwise answers 401 (503 while the signing keys cannot be fetched) with a
 * `WWW-Authenticate: Bearer` challenge and keycard's error body.
 */
export function verifyToken(verifier: Verifier): preHandlerHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const outcome = await verifyBearer(verifier, request.headers.authorization);
    if ('token' in outcome) {
      request.token = outcome.token;
      return;
    }
    return refuse(reply, outcome);
  };
}

/**
 * The route handler after `verifyToken(verifier)`, typed with `request.token` present:
 *
 *   app.get('/orders', { preHandler: verifyToken(verifier) }, withToken(async (request) => request.token.user));
 *
 * A request that reaches it without a verified token — `verifyToken` missing from the route — is refused
 * with 500 `invalid_configuration`, never run unauthenticated.
 */
export function withToken(
  handler: (request: VerifiedRequest, reply: FastifyReply) => unknown,
): RouteHandlerMethod {
  return async (request, reply) => {
    if (!request.token) {
      throw new KeycardError(
        'invalid_configuration',
        'withToken runs only after the verifyToken(verifier) pre-handler on the same route',
      );
    }
    return handler(request as VerifiedRequest, reply);
  };
}

/**
 * Pre-handler after `verifyToken`: `{ preHandler: [verifyToken(verifier), requireScope('orders:read')] }`.
 * Refuses tokens without every one of `scopes` — 403 with an RFC 6750 `insufficient_scope` challenge
 * naming them — and requests without a verified token (401). User tokens carry no scopes, so a
 * scope-guarded route is for API clients only. (Not `requireAuth`/`requireRole`, which check a signed-in
 * user of `keycardFastify`.)
 */
export function requireScope(...scopes: string[]): preHandlerHookHandler {
  const check = scopeRequirement(scopes);
  return async (request, reply) => {
    const refusal = check(request.token);
    if (refusal) return refuse(reply, refusal);
  };
}
