/**
 * Express middleware for a service that only checks tokens: `verifyToken` puts the verified Bearer token
 * on `req.token`, `withToken` types it as present in a handler, `requireScope` admits API clients with
 * the right scopes. The rules — the header's form, the verification, the RFC 6750 challenge, the scope
 * check — are keycard/verify's (`verifyBearer`, `scopeRequirement`); this module only translates.
 *
 *   app.get('/orders', verifyToken(verifier), withToken((req, res) => res.json(req.token.user)));
 *   app.get('/reports', verifyToken(services), requireScope('orders:read'), handler);
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { KeycardError } from 'keycard';
import {
  type BearerRefusal,
  scopeRequirement,
  type VerifiedToken,
  type Verifier,
  verifyBearer,
} from 'keycard/verify';
import { asyncHandler } from './handlers.js';

declare global {
  namespace Express {
    interface Request {
      /** The verified Bearer token, after `verifyToken(verifier)`. */
      token?: VerifiedToken;
    }
  }
}

/** An Express request that `verifyToken` let through: `req.token` is always there. */
export interface VerifiedRequest extends Request {
  token: VerifiedToken;
}

function refuse(res: Response, refusal: BearerRefusal): void {
  res
    .status(refusal.error.status)
    .set('www-authenticate', refusal.challenge)
    .set('cache-control', 'no-store')
    .json(refusal.error.toJSON());
}

/**
 * `app.use(verifyToken(verifier))`, or on one route: verifies `Authorization: Bearer` and sets
 * `req.token`; otherwise answers 401 (503 while the signing keys cannot be fetched) with a
 * `WWW-Authenticate: Bearer` challenge and keycard's error body.
 */
export function verifyToken(verifier: Verifier): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    verifyBearer(verifier, req.headers.authorization).then((outcome) => {
      if ('token' in outcome) {
        req.token = outcome.token;
        next();
      } else {
        refuse(res, outcome);
      }
    }, next);
  };
}

/**
 * The route handler after `verifyToken(verifier)`, typed with `req.token` present (not optional), so
 * handlers need no `!` or `?.`:
 *
 *   app.get('/orders', verifyToken(verifier), withToken((req, res) => res.json(req.token.user)));
 *
 * A rejected promise goes to `next(error)` (Express 4 would drop it). A request that reaches it without a
 * verified token — `verifyToken` missing from the route — is refused with 500 `invalid_configuration`,
 * never run unauthenticated.
 */
export function withToken(
  handler: (req: VerifiedRequest, res: Response, next: NextFunction) => unknown,
): RequestHandler {
  const run = asyncHandler((req, res, next) => handler(req as VerifiedRequest, res, next));
  return (req, res, next) => {
    if (!req.token) {
      next(
        new KeycardError(
          'invalid_configuration',
          'withToken runs only after verifyToken(verifier) on the same route',
        ),
      );
      return;
    }
    run(req, res, next);
  };
}

/**
 * After `verifyToken`: refuses tokens without every one of `scopes` — 403 with an RFC 6750
 * `insufficient_scope` challenge naming them — and requests without a verified token (401). User tokens
 * carry no scopes, so a scope-guarded route is for API clients only. (Not `requireAuth`/`requireRole`,
 * which check a signed-in user of `keycardExpress`.)
 */
export function requireScope(...scopes: string[]): RequestHandler {
  const check = scopeRequirement(scopes);
  return (req, res, next) => {
    const refusal = check(req.token);
    if (refusal) refuse(res, refusal);
    else next();
  };
}
