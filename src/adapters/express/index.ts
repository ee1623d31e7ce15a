/**
 * keycard for Express (4 and 5): middleware that gives every request `req.auth` (who is signed in, and
 * login / logout) and `req.session` (the session data object, express-session style), plus `requireAuth`,
 * `requireRole`, the CSRF token route, `asyncHandler` and an error handler. It only translates between
 * Express and keycard's core. For a service that only checks tokens: `verifyToken`, `withToken` and
 * `requireScope` (./verify.ts, on keycard/verify).
 *
 *   app.use(keycardExpress(keycard));
 *   app.get('/auth/csrf', csrfToken());
 *   app.get('/me', requireAuth(), (req, res) => res.json(req.auth.user));
 *   app.use(keycardErrors());
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type AuthContext,
  type AuthorizeOptions,
  authorize,
  isKeycardError,
  type Keycard,
  KeycardError,
  type RequestInfo,
  type SessionObject,
} from 'keycard';

export { fromBodyParserError, keycardErrors } from './errors.js';
export { asyncHandler, csrfToken } from './handlers.js';
export { requireScope, type VerifiedRequest, verifyToken, withToken } from './verify.js';

declare global {
  namespace Express {
    interface Request {
      /** The request's authentication: `user`, `session`, `login()`, `logout()`, `checkOrigin()`. */
      auth: AuthContext;
      /** The session's data: assign properties; saved only if changed, before the response is sent. */
      session: SessionObject;
    }
  }
}

export interface KeycardExpressOptions {
  /** Refuse cookie-authenticated unsafe requests from other sites with 403 (default true). */
  checkOrigin?: boolean;
  /**
   * Require a CSRF token (`X-CSRF-Token` header, or a `_csrf` field when a body parser runs before this
   * middleware) on cookie-authenticated unsafe browser requests (default true). Logins check it anyway.
   */
  checkCSRF?: boolean;
}

/** The RequestInfo core needs; `secure` and `ip` follow Express's "trust proxy" setting. */
export function requestInfo(req: Request): RequestInfo {
  return {
    method: req.method,
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    secure: req.secure,
    ip: req.ip ?? null,
    path: () => req.path,
    // The template of the route that answered, where it was mounted; read once the request is over.
    route: () => (req.route?.path === undefined ? undefined : `${req.baseUrl}${String(req.route.path)}`),
  };
}

function errorBody(error: KeycardError): string {
  return JSON.stringify(error.toJSON());
}

/**
 * Saves session changes before the response ends, the way express-session does: `res.end` waits for the
 * store write, so the next request always sees it.
 */
function commitBeforeEnd(res: Response, context: AuthContext): void {
  const end = res.end as (...args: unknown[]) => Response;
  let committing = false;
  const fail = (error: unknown): void => {
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : undefined);
      return;
    }
    const failure = isKeycardError(error)
      ? error
      : new KeycardError('internal_error', 'the session could not be saved');
    const body = errorBody(failure);
    res.statusCode = failure.status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(body));
    end.call(res, body);
  };
  res.end = function (this: Response, ...args: unknown[]): Response {
    if (committing) return end.apply(this, args);
    committing = true;
    let pending: Promise<void> | undefined;
    try {
      pending = context.commit();
    } catch (error) {
      fail(error);
      return res;
    }
    // Nothing to write (the usual case): end at once, with no promise in between.
    if (!pending) return end.apply(res, args);
    pending.then(
      () => end.apply(res, args),
      (error: unknown) => fail(error),
    );
    return res;
  } as Response['end'];
}

export function keycardExpress(keycard: Keycard, options: KeycardExpressOptions = {}): RequestHandler {
  if (!keycard || typeof keycard.createContext !== 'function') {
    throw new KeycardError(
      'invalid_configuration',
      'keycardExpress needs the object returned by createKeycard()',
    );
  }
  const checks = { checkOrigin: options.checkOrigin ?? true, checkCSRF: options.checkCSRF ?? true };
  return (req: Request, res: Response, next: NextFunction) => {
    const context = keycard.createContext(requestInfo(req), (header) => {
      res.append('Set-Cookie', header);
    });
    req.auth = context;
    // Made on first use: most requests never touch the session data object.
    Object.defineProperty(req, 'session', { configurable: true, enumerable: true, get: () => context.data });
    commitBeforeEnd(res, context);
    // The token comes from the X-CSRF-Token header, or a `_csrf` field when a body parser ran first.
    const header = req.headers['x-csrf-token'];
    const field = (req.body as Record<string, unknown> | undefined)?._csrf;
    context.submittedCSRFToken =
      typeof header === 'string' ? header : typeof field === 'string' ? field : undefined;
    const checked = (): void => {
      try {
        context.check(checks);
      } catch (error) {
        next(error);
        return;
      }
      // Tracing: what the app's handlers do runs in the request's span.
      if (keycard.tracing) context.run(() => next());
      else next();
    };
    let pending: Promise<void> | undefined;
    try {
      pending = context.load();
    } catch (error) {
      next(error);
      return;
    }
    if (pending) pending.then(checked, next);
    else checked();
  };
}

/**
 * 401 unless someone is signed in. Options: `roles` (403 unless the user has one of them) and `live`
 * (also 401 `token_revoked` unless the login is still live: one store read in the jwt and hybrid
 * strategies; `true`, `'unsafe'` for state-changing methods only, or `false`, the default).
 */
export function requireAuth(options: AuthorizeOptions = {}): RequestHandler {
  return guard({ roles: options.roles, live: options.live ?? false });
}

/**
 * 401 unless signed in, 403 unless the user's role is one of `roles`. State-changing requests (any
 * method but GET, HEAD, OPTIONS) also confirm that the login is still live (one store read in the jwt and
 * hybrid strategies), so an ended login's unexpired access token cannot act.
 */
export function requireRole(...roles: string[]): RequestHandler {
  if (roles.length === 0)
    throw new KeycardError('invalid_configuration', 'requireRole needs at least one role');
  return guard({ roles, live: 'unsafe' });
}

function guard(options: AuthorizeOptions): RequestHandler {
  return (req, _res, next) => {
    let pending: Promise<void> | undefined;
    try {
      pending = authorize(req.auth, options);
    } catch (error) {
      next(error);
      return;
    }
    if (pending) pending.then(() => next(), next);
    else next();
  };
}
