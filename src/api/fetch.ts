/**
 * keycard on Web-standard `Request` / `Response` (Bun, Deno, Hono, Cloudflare Workers, Next.js route
 * handlers): `createFetchHandler` answers the whole auth API that `keycard serve` answers — the same
 * route table (src/api/routes.ts) — and `authenticate` gives an app's own routes the request's auth.
 *
 *   const auth = createFetchHandler(keycard);
 *   Bun.serve({ fetch: (request, server) => auth(request, { ip: server.requestIP(request)?.address }) });
 */
import {
  type AuthContext,
  authorize,
  type CORSDecision,
  decideCORS,
  isKeycardError,
  type Keycard,
  KeycardError,
  type RequestInfo,
} from 'keycard';
import { readBoundedText } from '../core/http/bounded-body.js';
import { clientRoutes } from './clients.js';
import { securityHeaders } from './headers.js';
import { isFormType, parseForm, parseJSON } from './input.js';
import { buildOpenAPI, JWKS_ROUTE, OPENAPI_PATH, OPENAPI_ROUTE } from './openapi.js';
import { formRefusalLocation } from './pages/login-notices.js';
import { errorPage } from './pages/views.js';
import { type ApiReply, type ApiRoute, adminRoutes, authRoutes } from './routes.js';

export interface FetchHandlerOptions {
  /** Largest request body read, in bytes (default 16384, as `keycard serve`); larger → 413. */
  bodyLimitBytes?: number;
  /** Serve the admin API under /auth/admin/ too (default true). */
  admin?: boolean;
  /**
   * Called with every unexpected error (answered as a 500 that reveals nothing) and every
   * `store_unavailable` (answered 503; its `cause` says why), so that neither goes unseen. Default:
   * console.error.
   */
  onError?: (error: unknown) => void;
}

/** What the runtime knows of the connection, which a `Request` does not carry. */
export interface ConnectionInfo {
  /** The client's address (Bun: `server.requestIP(request)?.address`; Deno: `info.remoteAddr.hostname`). */
  ip?: string | null;
}

export type FetchHandler = (request: Request, connection?: ConnectionInfo) => Promise<Response>;

const MAX_ROUTE_SEGMENTS = 8;

interface CompiledRoute {
  route: ApiRoute;
  segments: string[];
}

function compile(routes: readonly ApiRoute[]): CompiledRoute[] {
  return routes.map((route) => ({ route, segments: route.path.split('/') }));
}

/** The route for a path and its parameters; `methods` lists the methods the path has when none matched. */
function match(
  compiled: readonly CompiledRoute[],
  method: string,
  path: string,
): { route: ApiRoute; params: Record<string, string> } | { methods: string[] } | null {
  const parts = path.split('/');
  if (parts.length > MAX_ROUTE_SEGMENTS) return null;
  const methods: string[] = [];
  for (const { route, segments } of compiled) {
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const segment = segments[i] as string;
      const part = parts[i] as string;
      if (segment.startsWith(':')) {
        try {
          params[segment.slice(1)] = decodeURIComponent(part);
        } catch {
          ok = false;
        }
        ok &&= part !== '';
      } else ok = segment === part;
    }
    if (!ok) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    methods.push(route.method);
  }
  return methods.length > 0 ? { methods } : null;
}

/** The RequestInfo core needs, read lazily from a `Request`. */
export function requestInfo(
  request: Request,
  connection: ConnectionInfo = {},
  url = new URL(request.url),
): RequestInfo {
  return {
    method: request.method.toUpperCase(),
    header: (name) => request.headers.get(name) ?? undefined,
    secure: url.protocol === 'https:',
    ip: connection.ip ?? null,
    path: () => url.pathname,
  };
}

function tooLarge(limit: number): KeycardError {
  return new KeycardError('payload_too_large', `the request body is larger than ${limit} bytes`);
}

/** The parsed body: JSON or a urlencoded form; another type → 415; none → undefined. */
export async function parseBody(request: Request, limit: number): Promise<unknown> {
  if (request.method === 'GET' || request.method === 'HEAD') return undefined;
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  const text = await readBoundedText(request, limit, () => tooLarge(limit));
  if (type === '' && text === '') return undefined;
  if (type.startsWith('application/json')) return parseJSON(text);
  if (isFormType(type)) return parseForm(text);
  throw new KeycardError(
    'unsupported_media_type',
    'send the body as application/json or application/x-www-form-urlencoded',
  );
}

function wantsHTML(request: Request): boolean {
  if (isFormType(request.headers.get('content-type') ?? undefined)) return true;
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
}

/** Builds a Response with the security headers, `Cache-Control: no-store` unless set, and the cookies. */
function respond(
  status: number,
  body: string | null,
  contentType: string | undefined,
  headers: Record<string, string>,
  cookies: readonly string[],
): Response {
  const out = new Headers(headers);
  if (contentType) out.set('content-type', contentType);
  if (!out.has('cache-control')) out.set('cache-control', 'no-store');
  for (const [name, value] of Object.entries(securityHeaders(contentType))) out.set(name, value);
  for (const cookie of cookies) out.append('set-cookie', cookie);
  return new Response(body, { status, headers: out });
}

function toResponse(reply: ApiReply, cookies: readonly string[]): Response {
  if (reply.kind === 'redirect') return respond(303, null, undefined, { location: reply.location }, cookies);
  if (reply.kind === 'html') {
    return respond(reply.status, reply.body, 'text/html; charset=utf-8', reply.headers ?? {}, cookies);
  }
  return respond(
    reply.status,
    JSON.stringify(reply.body),
    'application/json; charset=utf-8',
    reply.headers ?? {},
    cookies,
  );
}

/** A KeycardError as the answer: JSON `{"error": {code, message}}`, or an error page for a browser. */
export function errorResponse(
  error: KeycardError,
  options: { html?: boolean; username?: string | null; cookies?: readonly string[] } = {},
): Response {
  const headers = { ...error.headers() };
  if (options.html) {
    const page = errorPage(error.status, error.message, options.username ?? null);
    return respond(error.status, page, 'text/html; charset=utf-8', headers, options.cookies ?? []);
  }
  const body = JSON.stringify(error.toJSON());
  return respond(error.status, body, 'application/json; charset=utf-8', headers, options.cookies ?? []);
}

function asKeycardError(error: unknown, onError: (error: unknown) => void): KeycardError {
  if (isKeycardError(error)) {
    // The client is told only that the store cannot be reached; the operator must learn why.
    if (error.code === 'store_unavailable') onError(error);
    return error;
  }
  onError(error);
  return new KeycardError('internal_error', 'something went wrong; the server log has the details');
}

/**
 * The request's auth for an app's own route: the credential loaded (at most one store read) and, for an
 * unsafe request a cookie authenticated, the origin and CSRF checks passed (`X-CSRF-Token` header).
 * Throws KeycardError (`errorResponse` turns it into the answer). Cookies the check wants set (e.g.
 * clearing an invalid one) are in `cookies`; add them to the response (`withCookies`).
 */
export async function authenticate(
  keycard: Keycard,
  request: Request,
  connection: ConnectionInfo = {},
): Promise<{ auth: AuthContext; cookies: string[] }> {
  const cookies: string[] = [];
  const auth = keycard.createContext(requestInfo(request, connection), (cookie) => cookies.push(cookie));
  await auth.load();
  auth.submittedCSRFToken = request.headers.get('x-csrf-token') ?? undefined;
  auth.check();
  return { auth, cookies };
}

/** A copy of `response` with these Set-Cookie headers added. */
export function withCookies(response: Response, cookies: readonly string[]): Response {
  if (cookies.length === 0) return response;
  const headers = new Headers(response.headers);
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Answers the auth API: every route under /auth/ that `keycard serve` has (from the same table),
 * `/.well-known/jwks.json` for the token strategies, and `/auth/openapi.json`, the OpenAPI document of what
 * this handler answers. Other paths: `fallback` (default 404 JSON).
 */
export function createFetchHandler(
  keycard: Keycard,
  options: FetchHandlerOptions & { fallback?: FetchHandler } = {},
): FetchHandler {
  if (!keycard || typeof keycard.createContext !== 'function') {
    throw new KeycardError(
      'invalid_configuration',
      'createFetchHandler needs the object returned by createKeycard()',
    );
  }
  const limit = options.bodyLimitBytes ?? 16_384;
  const onError = options.onError ?? ((error: unknown) => console.error('keycard:', error));
  const clients = clientRoutes(keycard);
  const table = [
    ...authRoutes(keycard),
    ...clients.filter((route) => route.path === '/auth/token'),
    ...(options.admin === false
      ? []
      : [...adminRoutes(keycard), ...clients.filter((route) => route.path !== '/auth/token')]),
  ];
  const routes = compile(table);
  const keys = keycard.options.jwt?.keys ?? null;
  // Built at the first request for it: most handlers are never asked.
  let openAPI: string | undefined;
  const describe = () =>
    (openAPI ??= JSON.stringify(
      buildOpenAPI(keycard, { api: table, other: [...(keys ? [JWKS_ROUTE] : []), OPENAPI_ROUTE] }),
    ));

  const trustedOrigins = keycard.options.trustedOrigins;

  const answer: FetchHandler = async (request, connection = {}) => {
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const jwks = url.pathname === '/.well-known/jwks.json' && keys !== null;
    const own = jwks ? 'jwks' : url.pathname === OPENAPI_PATH ? 'openapi' : null;
    const found = own ? null : match(routes, method, url.pathname);
    if (!own && found === null && options.fallback) return options.fallback(request, connection);
    // keycard's own paths (and its 404s): CORS from the keycard's trusted origins; the app's
    // fallback keeps its own.
    const cors = decideCORS(
      { method, header: (name) => request.headers.get(name) ?? undefined },
      trustedOrigins,
    );
    return withCORS(cors, await answerOwn(request, connection, url, method, own, found, cors));
  };

  const answerOwn = async (
    request: Request,
    connection: ConnectionInfo,
    url: URL,
    method: string,
    own: 'jwks' | 'openapi' | null,
    found: ReturnType<typeof match>,
    cors: CORSDecision,
  ): Promise<Response> => {
    if (cors.action === 'preflight') return respond(204, null, undefined, {}, []);
    if (cors.action === 'refuse') return errorResponse(cors.error);
    if (own && (method === 'GET' || method === 'HEAD')) {
      if (own === 'openapi') return respond(200, describe(), 'application/json; charset=utf-8', {}, []);
      const headers = { 'cache-control': 'public, max-age=300' };
      return respond(200, JSON.stringify(keys?.toJWKS()), 'application/json; charset=utf-8', headers, []);
    }
    if (found === null || 'methods' in found) {
      // As keycard serve answers it: a path without this method is no route.
      return errorResponse(new KeycardError('not_found', `no route for ${method} ${url.pathname}`));
    }
    const cookies: string[] = [];
    const auth = keycard.createContext(requestInfo(request, connection, url), (cookie) =>
      cookies.push(cookie),
    );
    let reply: ApiReply;
    try {
      await auth.load();
      const body = await parseBody(request, limit);
      const header = request.headers.get('x-csrf-token');
      const field = (body as { _csrf?: unknown } | undefined)?._csrf;
      auth.submittedCSRFToken = header ?? (typeof field === 'string' ? field : undefined);
      auth.check();
      if (found.route.access) await authorize(auth, found.route.access);
      reply = await found.route.handle({
        method,
        auth,
        body,
        form: isFormType(request.headers.get('content-type') ?? undefined),
        params: found.params,
        query: queryObject(url.searchParams),
      });
      await auth.commit();
    } catch (error) {
      const failure = asKeycardError(error, onError);
      if (found.route.fail) return toResponse(found.route.fail(failure), cookies);
      // What the request changed is dropped (commit discards on failure); cookies already decided stay.
      await Promise.resolve()
        .then(() => auth.commit())
        .catch(() => {});
      // A page's form post from a tab whose login has ended goes to the sign-in page, as keycard serve's.
      const form = isFormType(request.headers.get('content-type') ?? undefined);
      const location = form ? formRefusalLocation(failure, auth.checkOrigin()) : null;
      if (location !== null) return toResponse({ kind: 'redirect', location }, cookies);
      return errorResponse(failure, { html: wantsHTML(request), username: auth.user?.username, cookies });
    }
    return toResponse(reply, cookies);
  };
  return answer;
}

/**
 * The query as keycard serve reads it: a repeated parameter becomes a list (which the route schemas refuse
 * where one value is expected), into an object without a prototype, so no key is special.
 */
function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of params) {
    const before = query[name];
    query[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  return query;
}

/** The CORS decision's headers on a response (Vary appended, the rest set). */
function withCORS(cors: CORSDecision, response: Response): Response {
  for (const [name, value] of Object.entries(cors.headers)) {
    if (name === 'vary') response.headers.append(name, value);
    else response.headers.set(name, value);
  }
  return response;
}
