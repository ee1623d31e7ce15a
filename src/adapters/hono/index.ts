/**
 * keycard for Hono (on Node, Bun, Deno or Workers): middleware that answers the auth API (the same route
 * table as `keycard serve`) and puts every other request's auth on the context (`c.get('auth')`), plus
 * `requireAuth` and `requireRole`. It only translates between Hono and keycard's core.
 *
 *   const app = new Hono<KeycardEnv>();
 *   app.use(keycardHono(keycard));
 *   app.get('/me', requireAuth(), (c) => c.json(c.get('auth').user));
 */
import type { Context, MiddlewareHandler } from 'hono';
import {
  type AuthContext,
  type AuthorizeOptions,
  authorize,
  isKeycardError,
  type Keycard,
  KeycardError,
} from 'keycard';
import {
  type ConnectionInfo,
  createFetchHandler,
  errorResponse,
  type FetchHandlerOptions,
  parseBody,
  requestInfo,
} from 'keycard/fetch';

/** The context variables keycard sets: `new Hono<KeycardEnv>()`. */
export interface KeycardEnv {
  Variables: {
    auth: AuthContext;
    /**
     * An unsafe request's JSON or form body, parsed with keycard's rules (malformed → 400, larger than
     * `bodyLimitBytes` → 413) so that a form's `_csrf` field counts; undefined for other requests.
     */
    body: unknown;
  };
}

export interface KeycardHonoOptions {
  /** Answer the auth API under /auth/ and /.well-known/jwks.json (default true); or its options. */
  api?: boolean | FetchHandlerOptions;
  /** Refuse cookie-authenticated unsafe requests from other sites (default true). */
  checkOrigin?: boolean;
  /** Require a CSRF token (`X-CSRF-Token`) on cookie-authenticated unsafe browser requests (default true). */
  checkCSRF?: boolean;
  /** Largest JSON or form body parsed for `c.get('body')`, in bytes (default 16384). */
  bodyLimitBytes?: number;
  /** The client's address, which a `Request` does not carry (e.g. from `hono/bun`'s or `@hono/node-server`'s conninfo). */
  clientAddress?: (c: Context) => string | null | undefined;
}

const SAFE: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Marks "no API route here": the middleware passes the request on. */
const PASS = new Response(null, { status: 404 });

export function keycardHono(
  keycard: Keycard,
  options: KeycardHonoOptions = {},
): MiddlewareHandler<KeycardEnv> {
  if (!keycard || typeof keycard.createContext !== 'function') {
    throw new KeycardError(
      'invalid_configuration',
      'keycardHono needs the object returned by createKeycard()',
    );
  }
  const api =
    options.api === false
      ? null
      : createFetchHandler(keycard, {
          ...(options.api === true ? {} : options.api),
          fallback: async () => PASS,
        });
  const checks = { checkOrigin: options.checkOrigin ?? true, checkCSRF: options.checkCSRF ?? true };
  const limit = options.bodyLimitBytes ?? 16_384;
  return async (c, next) => {
    const connection: ConnectionInfo = { ip: options.clientAddress?.(c) ?? null };
    if (api) {
      const answer = await api(c.req.raw, connection);
      if (answer !== PASS) return answer;
    }
    const cookies: string[] = [];
    const auth = keycard.createContext(requestInfo(c.req.raw, connection), (cookie) => cookies.push(cookie));
    try {
      await auth.load();
      const type = c.req.header('content-type') ?? '';
      let body: unknown;
      if (!SAFE.has(c.req.method) && /^application\/(json|x-www-form-urlencoded)/i.test(type)) {
        // Read from a copy: the app may still read the body its own way.
        body = await parseBody(c.req.raw.clone(), limit);
      }
      c.set('body', body);
      const field = (body as { _csrf?: unknown } | undefined)?._csrf;
      auth.submittedCSRFToken =
        c.req.header('x-csrf-token') ?? (typeof field === 'string' ? field : undefined);
      auth.check(checks);
    } catch (error) {
      return errorResponse(toKeycardError(error), { cookies });
    }
    c.set('auth', auth);
    await next();
    try {
      await auth.commit();
    } catch (error) {
      c.res = errorResponse(toKeycardError(error));
    }
    for (const cookie of cookies) c.res.headers.append('set-cookie', cookie);
  };
}

function toKeycardError(error: unknown): KeycardError {
  if (isKeycardError(error)) return error;
  throw error;
}

/**
 * `app.onError(keycardErrors())`: keycard's errors as `{"error": {code, message}}` with their status (and
 * Retry-After); other errors go on to `fallback` (default: Hono's plain 500).
 */
export function keycardErrors(fallback?: (error: Error, c: Context) => Response | Promise<Response>) {
  return (error: Error, c: Context): Response | Promise<Response> => {
    if (isKeycardError(error)) return errorResponse(error);
    if (fallback) return fallback(error, c);
    return c.text('Internal Server Error', 500);
  };
}

function guard(options: AuthorizeOptions): MiddlewareHandler<KeycardEnv> {
  return async (c, next) => {
    try {
      await authorize(c.get('auth'), options);
    } catch (error) {
      return errorResponse(toKeycardError(error));
    }
    await next();
  };
}

/**
 * 401 unless someone is signed in. Options: `roles` (403 unless the user has one of them) and `live`
 * (also 401 `token_revoked` unless the login is still live; `true`, `'unsafe'`, or `false`, the default).
 */
export function requireAuth(options: AuthorizeOptions = {}): MiddlewareHandler<KeycardEnv> {
  return guard({ roles: options.roles, live: options.live ?? false });
}

/**
 * 401 unless signed in, 403 unless the user's role is one of `roles`; state-changing requests also
 * confirm that the login is still live.
 */
export function requireRole(...roles: string[]): MiddlewareHandler<KeycardEnv> {
  if (roles.length === 0)
    throw new KeycardError('invalid_configuration', 'requireRole needs at least one role');
  return guard({ roles, live: 'unsafe' });
}

/** `app.get('/auth/csrf', csrfToken())` when the API is not mounted: `{"token": "…"}`. */
export function csrfToken(): MiddlewareHandler<KeycardEnv> {
  return async (c) => {
    const auth = c.get('auth');
    if (!auth)
      throw new KeycardError('invalid_configuration', 'csrfToken() needs app.use(keycardHono(keycard))');
    c.header('cache-control', 'no-store');
    return c.json({ token: auth.csrfToken() });
  };
}
