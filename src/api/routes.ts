/**
 * The auth API as one framework-free table: each route is a method, a path, who may call it, and a
 * function from an `ApiRequest` to an `ApiReply`. `keycard serve` registers the table on Fastify and
 * `keycard/fetch` answers it from Web-standard `Request`s; neither holds route logic of its own.
 */
import { Type } from '@sinclair/typebox';
import {
  type AuthContext,
  type AuthorizeOptions,
  type Keycard,
  KeycardError,
  toAuthUser,
  toPublicUser,
} from 'keycard';
import { MAX_PASSWORD_INPUT_LENGTH, MAX_USERNAME_INPUT_LENGTH } from '../core/users/credentials.js';
import { toPublicSession } from './input.js';
import { loginFailureLocation } from './pages/login-notices.js';
import { type ApiReply, type ApiRequest, type ApiRoute, defineRoute } from './route.js';
import {
  AfterPageQuery,
  CursorPageQuery,
  FormBoolean,
  formBoolean,
  IdParams,
  NO_PROTO,
  pageLimit,
} from './schema.js';
import {
  AuthUser,
  error,
  LoginAnswer,
  Ok,
  PublicSession,
  RefreshAnswer,
  redirect,
  SessionList,
  tooManyRequests,
  UserAnswer,
  UserList,
} from './shapes.js';

export type { ApiReply, ApiRequest, ApiRoute } from './route.js';

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

/** A page of users by username; `query` was checked against AfterPageQuery. */
export async function listUsersPage(
  keycard: Keycard,
  query: { limit?: string; after?: string },
): Promise<UserPage> {
  const limit = pageLimit(query);
  const users = await keycard.users.list({ limit: limit + 1, after: query.after });
  const page = users.slice(0, limit);
  return {
    users: page.map(toPublicUser),
    next: users.length > limit ? (page[page.length - 1]?.username ?? null) : null,
  };
}

/** The sign-in body. `keycard.signIn` applies the same rule (core/users/credentials.ts) for every app. */
const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: MAX_USERNAME_INPUT_LENGTH }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }),
    remember: Type.Optional({
      ...FormBoolean,
      description:
        'Keep me signed in. True (the default for JSON): persistent cookies, with a Max-Age within the configured lifetimes. False: browser-session cookies, ended when the browser is, and kept so at every refresh. The sign-in form sends it only when its box is ticked, so an unticked box means false. Header transport: no effect.',
    }),
  },
  NO_PROTO,
);

/** The user's own API: login, CSRF token, refresh, logout, who am I, forward auth, and their logins. */
export function authRoutes(keycard: Keycard): ApiRoute[] {
  const signedIn: AuthorizeOptions = {};
  // Ending logins changes state: the caller's own login must still be live (one store read in the jwt
  // and hybrid strategies), so the token of a login that has ended cannot end others.
  const live: AuthorizeOptions = { live: true };

  const revoke = async (request: ApiRequest, id: string): Promise<boolean> => {
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
  const Revoked = Type.Object(
    { ok: Type.Literal(true), current: Type.Boolean({ description: 'True when it was this login.' }) },
    { additionalProperties: false },
  );
  const notMine = error('No such login of yours (not_found).');

  return [
    defineRoute({
      method: 'POST',
      path: '/auth/login',
      schema: {
        summary: 'Sign in',
        description:
          'Checks the password and starts a login: cookies and/or tokens, per strategy. Throttled per account and per address.',
        tags: ['login'],
        body: Credentials,
        answers: {
          200: { description: 'Signed in.', json: LoginAnswer },
          303: redirect(
            '/account; a refused HTML form post goes back to /login?error=CODE&username=NAME (POST-redirect-GET: reloading never posts the password again), with &retry=SECONDS when throttled',
          ),
          401: error('Wrong username or password, the same for an unknown user (invalid_credentials).'),
          403: error('The account is blocked (account_blocked), or the request is cross-site.'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        const { auth } = request;
        // signIn checks the body again, as it does for every app that calls it. The form's checkbox is
        // sent only when ticked: from the form, no `remember` means a browser-session login.
        const result = await keycard.signIn(
          auth,
          request.form ? { ...body, remember: body.remember ?? false } : body,
        );
        if (!result.ok) {
          // 401, 403, or 429 with Retry-After — the same answer whether or not the password was right, so
          // throttling is no oracle. A form goes back to the sign-in page by a redirect, saying why.
          const { error } = result;
          const location = request.form ? loginFailureLocation(error, body.username) : null;
          if (location === null) throw error;
          return { kind: 'redirect', location };
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
    }),
    defineRoute({
      // A CSRF token for single-page apps: send it back as X-CSRF-Token on unsafe requests. Before login it
      // is bound to a pre-login cookie set here; after login, fetch a new one (or use the login's).
      method: 'GET',
      path: '/auth/csrf',
      schema: {
        summary: 'A CSRF token',
        description:
          'For single-page apps: send it as X-CSRF-Token on unsafe requests. Before login it is bound to a pre-login cookie set here.',
        tags: ['login'],
        answers: {
          200: {
            description: 'The token.',
            json: Type.Object({ token: Type.String() }, { additionalProperties: false }),
          },
        },
      },
      handle: async (request) => json({ token: request.auth.csrfToken() }),
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/refresh',
      schema: {
        summary: 'Refresh the access token',
        description:
          'jwt and hybrid: rotates the refresh token (its cookie, or refresh_token in the body) and issues a new access token. A spent token used again revokes the login.',
        tags: ['login'],
        body: Type.Object(
          { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) },
          NO_PROTO,
        ),
        bodyOptional: true,
        answers: {
          200: { description: 'New tokens.', json: RefreshAnswer },
          401: error('No refresh token, or one that is invalid, expired, revoked or reused.'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        // Throttling, rotation and the failure answers are keycard's, as for every app.
        const login = await keycard.refresh(request.auth, body.refresh_token);
        return json({
          user: request.auth.user,
          session: toPublicSession(login, login.id),
          ...(request.auth.tokens ?? cookieTokenExpiry(request.auth)),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/logout',
      schema: {
        summary: 'Sign out',
        description: 'Ends this login and clears its cookies.',
        tags: ['login'],
        answers: { 200: { description: 'Signed out.', json: Ok }, 303: redirect('/login') },
      },
      async handle(request) {
        await request.auth.logout();
        return respond(request, '/login', { ok: true });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/auth/me',
      access: signedIn,
      schema: {
        summary: 'Who am I',
        tags: ['login'],
        answers: {
          200: {
            description: 'The signed-in user and this login.',
            json: Type.Object(
              { user: AuthUser, session: Type.Union([PublicSession, Type.Null()]) },
              { additionalProperties: false },
            ),
          },
        },
      },
      async handle(request) {
        const { user, loginId } = request.auth;
        // jwt: the token was verified without the store; the login record is read here, once.
        const login = request.auth.loginRecord ?? (loginId ? await keycard.store.getLogin(loginId) : null);
        return json({ user, session: login && toPublicSession(login, login.id) });
      },
    }),
    defineRoute({
      // Forward auth for a reverse proxy (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz): 200
      // and the user in headers, or 401. It reads only what authentication read — for jwt and hybrid,
      // nothing.
      method: 'GET',
      path: '/auth/verify',
      access: signedIn,
      schema: {
        summary: 'Forward auth',
        description:
          'For a reverse proxy (nginx auth_request, Traefik ForwardAuth): 200 with the user in headers, or 401.',
        tags: ['login'],
        answers: {
          200: {
            description: 'Signed in.',
            json: Type.Object({ user: AuthUser }, { additionalProperties: false }),
            headers: {
              'x-keycard-user-id': "The user's id.",
              'x-keycard-username': 'The username, percent-encoded.',
              'x-keycard-role': "The user's role.",
            },
          },
        },
      },
      async handle(request) {
        const user = request.auth.user as { id: string; username: string; role: string };
        return json({ user }, 200, {
          'x-keycard-user-id': user.id,
          'x-keycard-username': encodeURIComponent(user.username),
          'x-keycard-role': user.role,
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/auth/sessions',
      access: signedIn,
      schema: {
        summary: 'My logins',
        description:
          'Newest first, a page at a time: `limit` and the `next` of the previous page as `cursor`.',
        tags: ['sessions'],
        query: CursorPageQuery,
        answers: { 200: { description: 'A page of logins.', json: SessionList } },
      },
      async handle(request, { query }) {
        const { user, loginId } = request.auth;
        const page = await keycard.logins.listPage((user as { id: string }).id, {
          limit: pageLimit(query),
          cursor: query.cursor,
        });
        return json({
          sessions: page.logins.map((record) => toPublicSession(record, loginId)),
          next: page.next,
        });
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/auth/sessions/:id',
      access: live,
      schema: {
        summary: 'End one of my logins',
        tags: ['sessions'],
        params: IdParams,
        answers: { 200: { description: 'Ended.', json: Revoked }, 404: notMine },
      },
      handle: async (request, { params }) => json({ ok: true, current: await revoke(request, params.id) }),
    }),
    defineRoute({
      // The same for HTML forms, which cannot send DELETE.
      method: 'POST',
      path: '/auth/sessions/:id/revoke',
      access: live,
      schema: {
        summary: 'End one of my logins (for HTML forms)',
        tags: ['sessions'],
        params: IdParams,
        answers: {
          200: { description: 'Ended.', json: Revoked },
          303: redirect('/account, or /login when it was this login'),
          404: notMine,
        },
      },
      async handle(request, { params }) {
        const current = await revoke(request, params.id);
        return respond(request, current ? '/login' : '/account', { ok: true, current });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/password',
      access: live,
      schema: {
        summary: 'Change my password',
        description:
          'Needs the current password; the new one must meet the password policy. Every other login of the user ends (their tokens revoked); this one stays. A wrong current password counts against the same throttle as a sign-in of this account from this address.',
        tags: ['account'],
        body: Type.Object(
          {
            current_password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }),
            new_password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }),
            confirm_password: Type.Optional(
              Type.String({
                maxLength: MAX_PASSWORD_INPUT_LENGTH,
                description: 'The account page sends the new password twice; when given, it must match.',
              }),
            ),
          },
          NO_PROTO,
        ),
        answers: {
          200: { description: 'Changed.', json: Ok },
          303: redirect('/account, saying whether it changed'),
          401: error('The current password is not right (invalid_credentials), or no login.'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        try {
          if (body.confirm_password !== undefined && body.confirm_password !== body.new_password) {
            throw new KeycardError('invalid_request', 'the new password and its confirmation differ', {
              field: 'confirm_password',
            });
          }
          await keycard.changePassword(request.auth, body.current_password, body.new_password);
        } catch (failure) {
          // The account page says what went wrong by a closed set of codes, never by text from the URL.
          if (request.form && failure instanceof KeycardError) {
            return {
              kind: 'redirect',
              location: `/account?password=${failure.field === 'confirm_password' ? 'mismatch' : failure.code}`,
            };
          }
          throw failure;
        }
        return respond(request, '/account?password=changed', { ok: true });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/logout-all',
      access: live,
      schema: {
        summary: 'End all my logins',
        description: 'All of them, or all others with keepCurrent.',
        tags: ['sessions'],
        body: Type.Object({ keepCurrent: Type.Optional(FormBoolean) }, NO_PROTO),
        bodyOptional: true,
        answers: {
          200: {
            description: 'Ended.',
            json: Type.Object(
              { ok: Type.Literal(true), revoked: Type.Integer() },
              { additionalProperties: false },
            ),
          },
          303: redirect('/account, or /login'),
        },
      },
      async handle(request, { body }) {
        const keepCurrent = formBoolean(body.keepCurrent) ?? false;
        const { user, loginId } = request.auth;
        const count = await keycard.revokeAllSessions((user as { id: string }).id, {
          reason: 'logout_all',
          exceptId: keepCurrent ? (loginId ?? undefined) : undefined,
          ...actor(request.auth),
        });
        if (!keepCurrent) await request.auth.logout();
        return respond(request, keepCurrent ? '/account' : '/login', { ok: true, revoked: count });
      },
    }),
  ];
}

/** The admin API (role `admin`): list and create users, block and unblock them. */
export function adminRoutes(keycard: Keycard): ApiRoute[] {
  // Every admin route confirms the login is live (one store read in the jwt and hybrid strategies), reads
  // included: a blocked or demoted admin's unexpired access token can neither act nor look.
  const admin: AuthorizeOptions = { roles: ['admin'], live: true };
  const setBlocked = (blocked: boolean) =>
    defineRoute({
      method: 'POST',
      path: `/auth/admin/users/:id/${blocked ? 'block' : 'unblock'}`,
      access: admin,
      schema: {
        summary: blocked ? 'Block a user' : 'Unblock a user',
        description: blocked ? 'Ends every login of the user at once and refuses new ones.' : undefined,
        tags: ['admin'],
        params: IdParams,
        answers: {
          200: { description: blocked ? 'Blocked.' : 'Unblocked.', json: UserAnswer },
          303: redirect('/admin'),
          404: error('No such user (not_found).'),
        },
      },
      async handle(request, { params }) {
        const { id } = params;
        if (blocked && id === request.auth.user?.id) {
          throw new KeycardError('invalid_request', 'you cannot block your own account', { field: 'id' });
        }
        const from = actor(request.auth);
        const user = blocked ? await keycard.users.block(id, from) : await keycard.users.unblock(id, from);
        return respond(request, '/admin', { user: toPublicUser(user) });
      },
    });
  return [
    defineRoute({
      method: 'GET',
      path: '/auth/admin/users',
      access: admin,
      schema: {
        summary: 'List users',
        description: 'By username, a page at a time: `limit` and the `next` of the previous page as `after`.',
        tags: ['admin'],
        query: AfterPageQuery,
        answers: { 200: { description: 'A page of users.', json: UserList } },
      },
      handle: async (_request, { query }) => json(await listUsersPage(keycard, query)),
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/admin/users',
      access: admin,
      schema: {
        summary: 'Create a user',
        tags: ['admin'],
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 256 }),
            password: Type.String({ minLength: 1, maxLength: 4096 }),
            role: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Default: user.' })),
          },
          NO_PROTO,
        ),
        answers: {
          201: { description: 'Created.', json: UserAnswer },
          303: redirect('/admin'),
          409: error('The username is taken (username_taken).'),
        },
      },
      async handle(request, { body }) {
        const user = await keycard.users.create(
          { username: body.username, password: body.password, role: body.role },
          actor(request.auth),
        );
        return respond(request, '/admin', { user: toPublicUser(user) }, 201);
      },
    }),
    setBlocked(true),
    setBlocked(false),
  ];
}
