/**
 * keycard for Fastify: a plugin that gives every request `request.auth` (who is signed in, and login /
 * logout) and `request.session` (the session data object) and installs keycard's error handler, plus
 * `requireAuth` and `requireRole` pre-handlers and the CSRF token route. It only translates between
 * Fastify and keycard's core; no auth logic lives here. For a service that only checks tokens:
 * `verifyToken`, `withToken` and `requireScope` (./verify.ts, on keycard/verify).
 *
 *   await app.register(keycardFastify, { keycard });
 *   app.get('/auth/csrf', csrfToken());
 *   app.get('/me', { preHandler: requireAuth() }, (request) => request.auth.user);
 */
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler, RouteHandlerMethod } from 'fastify';
import {
  type AuthContext,
  type AuthorizeOptions,
  authorize,
  type Keycard,
  KeycardError,
  type RequestInfo,
  type SessionObject,
} from 'keycard';

import { keycardErrors } from './errors.js';

export { fromFastifyError, keycardErrors, sendKeycardError } from './errors.js';
export { requireScope, type VerifiedRequest, verifyToken, withToken } from './verify.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's authentication: `user`, `session`, `login()`, `logout()`, `checkOrigin()`. */
    auth: AuthContext;
    /** The session's data, express-session style: assign properties; saved only if changed. */
    session: SessionObject;
  }
}

export interface KeycardFastifyOptions {
  keycard: Keycard;
  /**
   * Refuse cookie-authenticated unsafe requests from other sites with 403 `cross_site_request`
   * (default true). Turn off only if you run an equivalent check yourself.
   */
  checkOrigin?: boolean;
  /**
   * Require a CSRF token (`X-CSRF-Token` header or `_csrf` body field) on cookie-authenticated unsafe
   * browser requests (default true). Logins check it in any case (login CSRF).
   */
  checkCSRF?: boolean;
  /**
   * Install `keycardErrors()`, which sends keycard's errors and Fastify's client errors (malformed or
   * oversized body, …) as `{"error": {code, message}}` (default true); other errors go on to Fastify's
   * default handler. Set false when you format errors yourself (`fromFastifyError`, `sendKeycardError`).
   */
  errorHandler?: boolean;
}

function headerReader(request: FastifyRequest): (name: string) => string | undefined {
  return (name) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
}

/** The RequestInfo core needs, read lazily from Fastify's request. */
export function requestInfo(request: FastifyRequest): RequestInfo {
  return {
    method: request.method,
    header: headerReader(request),
    secure: request.protocol === 'https',
    ip: request.ip ?? null,
    path: () => request.url.split('?')[0] as string,
    route: () => request.routeOptions.url,
  };
}

async function plugin(app: FastifyInstance, options: KeycardFastifyOptions): Promise<void> {
  const keycard = options?.keycard;
  if (!keycard || typeof keycard.createContext !== 'function') {
    throw new KeycardError('invalid_configuration', 'keycardFastify needs { keycard: createKeycard({...}) }');
  }
  const checks = { checkOrigin: options.checkOrigin ?? true, checkCSRF: options.checkCSRF ?? true };
  app.decorateRequest('auth', null as unknown as AuthContext);
  // A getter, so the session data object is made only for requests that use it.
  app.decorateRequest('session', {
    getter(this: FastifyRequest) {
      return this.auth?.data as SessionObject;
    },
  });

  // Tracing: route handlers run in the request's span, so their store calls are its children. Fastify
  // parses a body between the hooks and the handler, which loses the async context; hence per handler.
  if (keycard.tracing) {
    app.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = function (this: unknown, request, reply) {
        const context = request.auth;
        return context
          ? context.run(() => handler.call(this as FastifyInstance, request, reply))
          : handler.call(this as FastifyInstance, request, reply);
      };
    });
  }
  // Callback-style hooks: most requests finish them without a promise (no cookie, a token checked from
  // memory, nothing to save), which keeps the per-request cost down.
  app.addHook('onRequest', (request, reply, done) => {
    const context = keycard.createContext(requestInfo(request), (header) => {
      reply.header('set-cookie', header);
    });
    request.auth = context;
    let pending: Promise<void> | undefined;
    try {
      pending = context.load();
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending) pending.then(() => done(), done);
    else done();
  });
  // After the body is parsed, so a form's `_csrf` field can be read: the origin and CSRF checks for
  // cookie-authenticated unsafe requests.
  app.addHook('preHandler', (request, _reply, done) => {
    const context = request.auth;
    if (!context) return done();
    const header = request.headers['x-csrf-token'];
    // Always read: a login form carries its pre-login token in `_csrf` too.
    context.submittedCSRFToken = typeof header === 'string' ? header : csrfFromBody(request.body);
    try {
      context.check(checks);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
  if (options.errorHandler ?? true) app.setErrorHandler(keycardErrors());
  // Saves data changes and activity before the response leaves (at most one store write).
  app.addHook('onSend', (request, _reply, payload, done) => {
    let pending: Promise<void> | undefined;
    try {
      pending = request.auth?.commit();
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending) pending.then(() => done(null, payload), done);
    else done(null, payload);
  });
}

// Registered without encapsulation, so the decorators and hooks apply to the routes of the caller.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
(plugin as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'keycard';

export const keycardFastify: (app: FastifyInstance, options: KeycardFastifyOptions) => Promise<void> = plugin;

/** The `_csrf` field of a parsed form or JSON body, if any. */
export function csrfFromBody(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)._csrf;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Pre-handler: 401 unless someone is signed in. Options: `roles` (403 unless the user has one of them)
 * and `live` (also 401 `token_revoked` unless the login is still live: one store read in the jwt and
 * hybrid strategies; `true`, `'unsafe'` for state-changing methods only, or `false`, the default).
 */
export function requireAuth(options: AuthorizeOptions = {}): preHandlerHookHandler {
  const checks: AuthorizeOptions = { roles: options.roles, live: options.live ?? false };
  return async (request) => authorize(request.auth, checks);
}

/**
 * Pre-handler: 401 unless signed in, 403 unless the user's role is one of `roles`. State-changing requests
 * (any method but GET, HEAD, OPTIONS) also confirm that the login is still live (one store read in the jwt
 * and hybrid strategies), so an ended login's unexpired access token cannot act.
 */
export function requireRole(...roles: string[]): preHandlerHookHandler {
  if (roles.length === 0)
    throw new KeycardError('invalid_configuration', 'requireRole needs at least one role');
  return async (request) => authorize(request.auth, { roles, live: 'unsafe' });
}

/**
 * `app.get('/auth/csrf', csrfToken())`: answers `{"token": "…"}` (with `Cache-Control: no-store`), the
 * token a browser page sends back as `X-CSRF-Token` on unsafe requests. Before login it is bound to a
 * pre-login cookie set here, so a page can sign in; after login it is bound to the login, so fetch a new
 * one then. The same route and shape as `keycard serve`'s.
 */
export function csrfToken(): RouteHandlerMethod {
  return async (request, reply) => {
    if (!request.auth) {
      throw new KeycardError(
        'invalid_configuration',
        'csrfToken() needs app.register(keycardFastify, { keycard })',
      );
    }
    reply.header('cache-control', 'no-store');
    return { token: request.auth.csrfToken() };
  };
}
