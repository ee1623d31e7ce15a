/**
 * The auth API as one framework-free table: each route is a method, a path, who may call it, and a
 * function from an `ApiRequest` to an `ApiReply`. `keycard serve` registers the table on Fastify and
 * `keycard/fetch` answers it from Web-standard `Request`s; neither holds route logic of its own.
 */
import {
  type AuthContext,
  type AuthorizeOptions,
  type Keycard,
  KeycardError,
  toAuthUser,
  toPublicUser,
} from 'keycard';
import {
  bodyObject,
  optionalBoolean,
  optionalString,
  pageQuery,
  requiredString,
  toPublicSession,
  validId,
} from './input.js';
import { loginPage } from './pages/views.js';

export interface ApiRequest {
  readonly method: string;
  /** The request's auth context, loaded and checked (origin, CSRF) by the host. */
  readonly auth: AuthContext;
  /** The parsed JSON or form body; undefined when there was none. */
  readonly body: unknown;
  /** True for an HTML form post: the answer is a redirect or a page rather than JSON. */
  readonly form: boolean;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, unknown>>;
}

export type ApiReply =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'html'; status: number; body: string; headers?: Record<string, string> }
  /** 303 See Other, after a form post. */
  | { kind: 'redirect'; location: string };

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** With `:name` segments for parameters. */
  readonly path: string;
  /** Who may call it (`requireAuth`'s options); absent: anyone. */
  readonly access?: AuthorizeOptions;
  handle(request: ApiRequest): Promise<ApiReply>;
  /**
   * The answer to a refusal on this route (body errors and thrown KeycardErrors alike), for routes that
   * answer errors in another shape than keycard's (the OAuth token endpoint). Absent: keycard's.
   */
  fail?(error: KeycardError): ApiReply;
}

function json(body: unknown, status = 200, headers?: Record<string, string>): ApiReply {
  return { kind: 'json', status, body, ...(headers ? { headers } : {}) };
}

/** Form posts get a 303 to `location`; API clients get `body`. */
function respond(request: ApiRequest, location: string, body: unknown, status = 200): ApiReply {
  return request.form ? { kind: 'redirect', location } : json(body, status);
}

/**
 * Cookie transport of the jwt and hybrid strategies: the access token's lifetime in seconds, as header
 * clients get it (`expires_in`), so a front end knows when to refresh without reading the cookie. Nothing
 * for the session strategy, whose login slides with use.
 */
function cookieTokenExpiry(auth: AuthContext): { expires_in: number } | Record<string, never> {
  const { claims } = auth;
  if (!auth.usesCookies || typeof claims?.exp !== 'number' || typeof claims.iat !== 'number') return {};
  return { expires_in: claims.exp - claims.iat };
}

/** Who acted, for the audit event. */
function actor(auth: AuthContext): { ip: string | null; userAgent: string | null } {
  return { ip: auth.request.ip, userAgent: auth.request.header('user-agent') ?? null };
}

export interface UserPage {
  users: ReturnType<typeof toPublicUser>[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export async function listUsersPage(keycard: Keycard, query: unknown): Promise<UserPage> {
  const { limit, cursor: after } = pageQuery(query, 'after');
  const users = await keycard.users.list({ limit: limit + 1, after });
  const page = users.slice(0, limit);
  return {
    users: page.map(toPublicUser),
    next: users.length > limit ? (page[page.length - 1]?.username ?? null) : null,
  };
}

/** The user's own API: login, CSRF token, refresh, logout, who am I, forward auth, and their logins. */
export function authRoutes(keycard: Keycard): ApiRoute[] {
  const signedIn: AuthorizeOptions = {};
  // Ending logins changes state: the caller's own login must still be live (one store read in the jwt
  // and hybrid strategies), so the token of a login that has ended cannot end others.
  const live: AuthorizeOptions = { live: true };

  const revoke = async (request: ApiRequest): Promise<boolean> => {
    const id = validId(request.params.id, 'id');
    const { user, loginId } = request.auth;
    if (!user) throw new KeycardError('unauthenticated', 'sign in first');
    if (id === loginId) {
      await request.auth.logout();
      return true;
    }
    const revoked = await keycard.revokeSession(user.id, id, { by: 'user', ...actor(request.auth) });
    if (!revoked) throw new KeycardError('not_found', 'no such session');
    return false;
  };

  return [
    {
      method: 'POST',
      path: '/auth/login',
      async handle(request) {
        const { auth } = request;
        // signIn checks the body itself (400 naming the field), as it does for every app.
        const result = await keycard.signIn(auth, request.body);
        if (!result.ok) {
          // 401, 403, or 429 with Retry-After — the same answer whether or not the password was right, so
          // throttling is no oracle.
          const { error } = result;
          if (!request.form) throw error;
          const username = (request.body as { username: string }).username;
          const page = loginPage({ csrfToken: auth.csrfToken(), error: error.message, username });
          return { kind: 'html', status: error.status, body: page, headers: error.headers() };
        }
        return respond(request, '/account', {
          user: toAuthUser(result.user),
          session: toPublicSession(result.login, result.login.id),
          // Header transport: the tokens, in OAuth 2.0's token-response shape (RFC 6749 §5.1); cookie
          // transport: when the access token in the cookie expires, so a client can refresh in time.
          ...(auth.tokens ?? cookieTokenExpiry(auth)),
          // Cookie transports: the CSRF token for the new login (the pre-login one no longer applies).
          ...(auth.usesCookies ? { csrf_token: auth.csrfToken() } : {}),
        });
      },
    },
    {
      // A CSRF token for single-page apps: send it back as X-CSRF-Token on unsafe requests. Before login it
      // is bound to a pre-login cookie set here; after login, fetch a new one (or use the login's).
      method: 'GET',
      path: '/auth/csrf',
      handle: async (request) => json({ token: request.auth.csrfToken() }),
    },
    {
      method: 'POST',
      path: '/auth/refresh',
      async handle(request) {
        const body = request.body === undefined ? {} : bodyObject(request.body, 'refresh_token');
        const presented = optionalString(body, 'refresh_token', 512);
        // Throttling, rotation and the failure answers are keycard's, as for every app.
        const login = await keycard.refresh(request.auth, presented);
        return json({
          user: request.auth.user,
          session: toPublicSession(login, login.id),
          ...(request.auth.tokens ?? cookieTokenExpiry(request.auth)),
        });
      },
    },
    {
      method: 'POST',
      path: '/auth/logout',
      async handle(request) {
        await request.auth.logout();
        return respond(request, '/login', { ok: true });
      },
    },
    {
      method: 'GET',
      path: '/auth/me',
      access: signedIn,
      async handle(request) {
        const { user, loginId } = request.auth;
        // jwt: the token was verified without the store; the login record is read here, once.
        const login = request.auth.loginRecord ?? (loginId ? await keycard.store.getLogin(loginId) : null);
        return json({ user, session: login && toPublicSession(login, login.id) });
      },
    },
    {
      // Forward auth for a reverse proxy (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz): 200
      // and the user in headers, or 401. It reads only what authentication read — for jwt and hybrid,
      // nothing.
      method: 'GET',
      path: '/auth/verify',
      access: signedIn,
      async handle(request) {
        const user = request.auth.user as { id: string; username: string; role: string };
        return json({ user }, 200, {
          'x-keycard-user-id': user.id,
          'x-keycard-username': encodeURIComponent(user.username),
          'x-keycard-role': user.role,
        });
      },
    },
    {
      // The user's own logins, a page at a time (newest first): `?limit=` (default 50, at most 1000) and
      // the `next` cursor of the previous page as `?cursor=`.
      method: 'GET',
      path: '/auth/sessions',
      access: signedIn,
      async handle(request) {
        const { user, loginId } = request.auth;
        const { limit, cursor } = pageQuery(request.query);
        const page = await keycard.logins.listPage((user as { id: string }).id, { limit, cursor });
        return json({
          sessions: page.logins.map((record) => toPublicSession(record, loginId)),
          next: page.next,
        });
      },
    },
    {
      method: 'DELETE',
      path: '/auth/sessions/:id',
      access: live,
      handle: async (request) => json({ ok: true, current: await revoke(request) }),
    },
    {
      // The same for HTML forms, which cannot send DELETE.
      method: 'POST',
      path: '/auth/sessions/:id/revoke',
      access: live,
      async handle(request) {
        const current = await revoke(request);
        return respond(request, current ? '/login' : '/account', { ok: true, current });
      },
    },
    {
      method: 'POST',
      path: '/auth/logout-all',
      access: live,
      async handle(request) {
        const body = request.body === undefined ? {} : bodyObject(request.body, 'keepCurrent (optional)');
        const keepCurrent = optionalBoolean(body, 'keepCurrent') ?? false;
        const { user, loginId } = request.auth;
        const count = await keycard.revokeAllSessions((user as { id: string }).id, {
          reason: 'logout_all',
          exceptId: keepCurrent ? (loginId ?? undefined) : undefined,
          ...actor(request.auth),
        });
        if (!keepCurrent) await request.auth.logout();
        return respond(request, keepCurrent ? '/account' : '/login', { ok: true, revoked: count });
      },
    },
  ];
}

/** The admin API (role `admin`): list and create users, block and unblock them. */
export function adminRoutes(keycard: Keycard): ApiRoute[] {
  // Every admin route confirms the login is live (one store read in the jwt and hybrid strategies), reads
  // included: a blocked or demoted admin's unexpired access token can neither act nor look.
  const admin: AuthorizeOptions = { roles: ['admin'], live: true };
  const setBlocked = (blocked: boolean) => async (request: ApiRequest) => {
    const id = validId(request.params.id, 'id');
    if (blocked && id === request.auth.user?.id) {
      throw new KeycardError('invalid_request', 'you cannot block your own account', { field: 'id' });
    }
    const from = actor(request.auth);
    const user = blocked ? await keycard.users.block(id, from) : await keycard.users.unblock(id, from);
    return respond(request, '/admin', { user: toPublicUser(user) });
  };
  return [
    {
      method: 'GET',
      path: '/auth/admin/users',
      access: admin,
      handle: async (request) => json(await listUsersPage(keycard, request.query)),
    },
    {
      method: 'POST',
      path: '/auth/admin/users',
      access: admin,
      async handle(request) {
        const body = bodyObject(request.body, 'username, password and role');
        const user = await keycard.users.create(
          {
            username: requiredString(body, 'username', 256),
            password: requiredString(body, 'password', 4096),
            role: optionalString(body, 'role', 32),
          },
          actor(request.auth),
        );
        return respond(request, '/admin', { user: toPublicUser(user) }, 201);
      },
    },
    { method: 'POST', path: '/auth/admin/users/:id/block', access: admin, handle: setBlocked(true) },
    { method: 'POST', path: '/auth/admin/users/:id/unblock', access: admin, handle: setBlocked(false) },
  ];
}
