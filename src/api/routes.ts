/**
 * The auth API as one framework-free table: each route is a method, a path, who may call it, and a
 * function from an `ApiRequest` to an `ApiReply`. `keycard serve` registers the table on Fastify and
 * `keycard/fetch` answers it from Web-standard `Request`s; neither holds route logic of its own.
 */
import { Type } from '@sinclair/typebox';
import {
  type AuditRecord,
  type AuthContext,
  type AuthorizeOptions,
  type Keycard,
  KeycardError,
  toPublicUser,
} from 'keycard';
import { MAX_EMAIL_INPUT_LENGTH } from '../core/accounts/email.js';
import { MAX_PASSWORD_INPUT_LENGTH, MAX_USERNAME_INPUT_LENGTH } from '../core/users/credentials.js';
import { lookupUsername } from '../core/users/username.js';
import { accountRoutes, adminLinkRoutes } from './account-routes.js';
import { toPublicSession } from './input.js';
import { cookieTokenExpiry, loginAnswer } from './login-answer.js';
import { adminMfaRoutes, mfaRoutes, withStepUp } from './mfa-routes.js';
import { loginFailureLocation } from './pages/login-notices.js';
import { isStepUpRefusal, secondStepPage } from './pages/mfa-views.js';
import { passkeyRoutes } from './passkey-routes.js';
import { type ApiReply, type ApiRequest, type ApiRoute, defineRoute } from './route.js';
import {
  AuditPageQuery,
  CursorPageQuery,
  FormBoolean,
  formBoolean,
  IdParams,
  NO_PROTO,
  pageLimit,
  UserSearchQuery,
} from './schema.js';
import {
  AuditList,
  AuthUser,
  ErrorBody,
  error,
  LoginAnswer,
  MfaRequiredBody,
  Ok,
  PublicSession,
  RefreshAnswer,
  redirect,
  SessionList,
  stepUpRequired,
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

/** Who acted, for the audit event. */
function actor(auth: AuthContext): { ip: string | null; userAgent: string | null } {
  return { ip: auth.request.ip, userAgent: auth.request.header('user-agent') ?? null };
}

export interface UserPage {
  users: ReturnType<typeof toPublicUser>[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/**
 * A page of users by username; `query` was checked against UserSearchQuery (or AfterPageQuery). `q`, a
 * username prefix, is normalized as a username is looked up (NFKC, lower case), so `Al` finds `alice`; an
 * empty one is no filter, and one no username can begin with is 400 naming `q`.
 */
export async function listUsersPage(
  keycard: Keycard,
  query: { limit?: string; after?: string; q?: string },
): Promise<UserPage> {
  const limit = pageLimit(query);
  let prefix: string | undefined;
  if (query.q) {
    const name = lookupUsername(query.q);
    if (name === null) {
      throw new KeycardError('invalid_request', 'q is not the beginning of a username', { field: 'q' });
    }
    prefix = name;
  }
  const users = await keycard.users.list({ limit: limit + 1, after: query.after, prefix });
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
          200: {
            description:
              'Signed in. An HTML form post of a user with a second factor: the second step’s page.',
            json: LoginAnswer,
            media: 'text/html',
          },
          303: redirect(
            '/account; a refused HTML form post goes back to /login?error=CODE&username=NAME (POST-redirect-GET: reloading never posts the password again), with &retry=SECONDS when throttled',
          ),
          401: {
            description:
              'Wrong username or password, the same for an unknown user (invalid_credentials); or the password was right and a second factor is needed (mfa_required, with mfa_token and factors: finish with POST /auth/login/mfa).',
            json: Type.Union([ErrorBody, MfaRequiredBody]),
          },
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
        if (!result.ok && result.reason === 'mfa_required') {
          // The password was right; a second factor finishes it (docs/mfa.md). JSON clients get the
          // pending token in the 401's body; the form gets the second step's page (never a URL with it).
          if (!request.form) throw result.error;
          return {
            kind: 'html',
            status: 200,
            headers: { 'cache-control': 'no-store' },
            body: secondStepPage({
              csrfToken: auth.csrfToken(),
              mfaToken: result.mfaToken,
              factors: result.factors,
              remember: body.remember === true || body.remember === 'true' || body.remember === 'on',
              passkey: keycard.mfa.passkeys !== null && result.factors.includes('passkey'),
            }),
          };
        }
        if (!result.ok) {
          // 401, 403, or 429 with Retry-After — the same answer whether or not the password was right, so
          // throttling is no oracle. A form goes back to the sign-in page by a redirect, saying why.
          const { error } = result;
          const location = request.form ? loginFailureLocation(error, body.username) : null;
          if (location === null) throw error;
          return { kind: 'redirect', location };
        }
        // A role that needs a second factor, and none yet: signed in, but sent to add one (docs/mfa.md).
        if (await keycard.mfa.enrollmentRequired(result.user)) {
          return respond(request, '/account?security=mfa_enrollment_required#security', {
            ...loginAnswer(auth, result.user, result.login),
            mfa_enrollment_required: true,
          });
        }
        return respond(request, '/account', loginAnswer(auth, result.user, result.login));
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
          403: stepUpRequired,
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
          // With a second factor, a recent one is needed too; without, the current password is the proof.
          await keycard.requireStepUp(request.auth, { passwordShown: true });
          await keycard.changePassword(request.auth, body.current_password, body.new_password);
        } catch (failure) {
          // The account page says what went wrong by a closed set of codes, never by text from the URL.
          if (request.form && failure instanceof KeycardError && !isStepUpRefusal(failure)) {
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
    // Email addresses, their verification, and password reset by mail (account-routes.ts).
    ...accountRoutes(keycard),
    // Second factors: enrolment, the sign-in's second step, step-up (mfa-routes.ts), passkeys.
    ...mfaRoutes(keycard),
    ...passkeyRoutes(keycard),
  ];
}

/**
 * The admin API (role `admin`): list, search and create users, block and unblock them, change a role,
 * set a password, list and end one user's logins, delete a user (docs/accounts.md, "Administering
 * accounts"); read the audit log. An admin cannot block, demote, delete or reset the password of their own account here.
 */
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
        if (blocked) notSelf(request, id, 'you cannot block your own account');
        const from = actor(request.auth);
        const user = blocked ? await keycard.users.block(id, from) : await keycard.users.unblock(id, from);
        return respond(request, '/admin', { user: toPublicUser(user) });
      },
    });
  const noSuchUser = error('No such user (not_found).');
  const RoleBody = Type.Object(
    { role: Type.String({ minLength: 1, maxLength: 32, description: 'One of the configured roles.' }) },
    NO_PROTO,
  );
  /**
   * A form route's answer is a redirect to the admin page (a form post), the JSON twin's is always JSON.
   */
  const answer = (request: ApiRequest, forForm: boolean, body: unknown): ApiReply =>
    forForm ? respond(request, '/admin', body) : json(body);
  /** PATCH (JSON) and its form twin: the role changes and every login of the user ends. */
  const changeRole = async (
    request: ApiRequest,
    id: string,
    role: string,
    forForm: boolean,
  ): Promise<ApiReply> => {
    // An admin who demotes themself could lock the last admin out; another admin can do it.
    if (id === request.auth.user?.id && role !== request.auth.user.role) {
      throw new KeycardError('invalid_request', 'you cannot change your own role', { field: 'id' });
    }
    const user = await keycard.users.setRole(id, role, actor(request.auth));
    return answer(request, forForm, { user: toPublicUser(user) });
  };
  const roleAnswers = {
    200: { description: 'Changed (or already that role: nothing changes).', json: UserAnswer },
    400: error('Not one of the configured roles (invalid_request naming role), or your own account.'),
    404: noSuchUser,
  };
  const deleteAnswers = {
    200: { description: 'Deleted: the user as it was.', json: UserAnswer },
    400: error('Your own account (invalid_request).'),
    404: noSuchUser,
  };
  const deleteUser = async (request: ApiRequest, id: string, forForm: boolean): Promise<ApiReply> => {
    notSelf(request, id, 'you cannot delete your own account');
    const user = await keycard.users.delete(id, actor(request.auth));
    return answer(request, forForm, { user: toPublicUser(user) });
  };
  /** 404 for an id that names no user, so a listing never answers an empty page for a typo. */
  const requireUser = async (id: string) => {
    const user = await keycard.users.get(id);
    if (!user) throw new KeycardError('not_found', 'no such user');
    return user;
  };
  const routes: ApiRoute[] = [
    defineRoute({
      method: 'GET',
      path: '/auth/admin/users',
      access: admin,
      schema: {
        summary: 'List users',
        description:
          'By username, a page at a time: `limit` and the `next` of the previous page as `after`. `q` keeps only usernames that begin with it, normalized as usernames are (`Al` finds `alice`).',
        tags: ['admin'],
        query: UserSearchQuery,
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
            email: Type.Optional(
              Type.String({
                maxLength: MAX_EMAIL_INPUT_LENGTH,
                description:
                  'Their address (unverified until they follow a verification link); empty for none.',
              }),
            ),
          },
          NO_PROTO,
        ),
        answers: {
          201: { description: 'Created.', json: UserAnswer },
          303: redirect('/admin'),
          409: error('The username or the address is taken (username_taken, email_taken).'),
        },
      },
      async handle(request, { body }) {
        const user = await keycard.users.create(
          {
            username: body.username,
            password: body.password,
            role: body.role,
            email: body.email === '' ? undefined : body.email,
          },
          actor(request.auth),
        );
        return respond(request, '/admin', { user: toPublicUser(user) }, 201);
      },
    }),
    setBlocked(true),
    setBlocked(false),
    defineRoute({
      method: 'PATCH',
      path: '/auth/admin/users/:id',
      access: admin,
      schema: {
        summary: "Change a user's role or email address",
        description:
          'The role is one of the configured set: every login of the user ends at once (their tokens revoked), so no session or access token keeps the old role; you cannot change your own role. The address (null removes it) is normalized, must be free, and is unverified until the user follows a verification link.',
        tags: ['admin'],
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleBody.properties.role),
            email: Type.Optional(
              Type.Union([Type.String({ minLength: 1, maxLength: MAX_EMAIL_INPUT_LENGTH }), Type.Null()]),
            ),
          },
          NO_PROTO,
        ),
        answers: {
          ...roleAnswers,
          400: error(
            'Nothing to change, not one of the configured roles (invalid_request naming role), not an address (naming email), or your own role.',
          ),
          409: error('Another account has this address (email_taken).'),
        },
      },
      async handle(request, { params, body }) {
        if (body.role === undefined && body.email === undefined) {
          throw new KeycardError('invalid_request', 'send the new role, or email', { field: 'role' });
        }
        // Every check before any change: a refused request changes nothing.
        if (body.role !== undefined) {
          if (!keycard.options.roles.includes(body.role)) {
            throw new KeycardError(
              'invalid_request',
              `role must be one of: ${keycard.options.roles.join(', ')}`,
              {
                field: 'role',
              },
            );
          }
          if (params.id === request.auth.user?.id && body.role !== request.auth.user.role) {
            throw new KeycardError('invalid_request', 'you cannot change your own role', { field: 'id' });
          }
        }
        if (body.email !== undefined) {
          if (!(await keycard.users.get(params.id))) throw new KeycardError('not_found', 'no such user');
          await keycard.accounts.setEmail(params.id, body.email, actor(request.auth));
        }
        if (body.role !== undefined) return changeRole(request, params.id, body.role, false);
        const user = await keycard.users.get(params.id);
        if (!user) throw new KeycardError('not_found', 'no such user');
        return json({ user: toPublicUser(user) });
      },
    }),
    defineRoute({
      // The same for HTML forms, which cannot send PATCH.
      method: 'POST',
      path: '/auth/admin/users/:id/role',
      access: admin,
      schema: {
        summary: "Change a user's role (for HTML forms)",
        tags: ['admin'],
        params: IdParams,
        body: RoleBody,
        answers: { ...roleAnswers, 303: redirect('/admin') },
      },
      handle: (request, { params, body }) => changeRole(request, params.id, body.role, true),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/auth/admin/users/:id',
      access: admin,
      schema: {
        summary: 'Delete a user',
        description:
          'The user record (the username is free again) and every login of theirs, with revocations written so their access tokens are refused. You cannot delete your own account.',
        tags: ['admin'],
        params: IdParams,
        answers: deleteAnswers,
      },
      handle: (request, { params }) => deleteUser(request, params.id, false),
    }),
    defineRoute({
      // The same for HTML forms, which cannot send DELETE; the admin page asks for confirmation first.
      method: 'POST',
      path: '/auth/admin/users/:id/delete',
      access: admin,
      schema: {
        summary: 'Delete a user (for HTML forms)',
        tags: ['admin'],
        params: IdParams,
        answers: { ...deleteAnswers, 303: redirect('/admin') },
      },
      handle: (request, { params }) => deleteUser(request, params.id, true),
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/admin/users/:id/password',
      access: admin,
      schema: {
        summary: "Set a user's password",
        description:
          'A temporary password, which must meet the password policy; every login of the user ends. The user is not yet made to change it at the next sign-in. For your own password use POST /auth/password.',
        tags: ['admin'],
        params: IdParams,
        body: Type.Object(
          { password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }) },
          NO_PROTO,
        ),
        answers: {
          200: { description: 'Set.', json: UserAnswer },
          303: redirect('/admin'),
          400: error(
            'The password does not meet the policy (invalid_request naming password), or it is yours.',
          ),
          404: noSuchUser,
        },
      },
      async handle(request, { params, body }) {
        notSelf(request, params.id, 'set your own password with POST /auth/password');
        const user = await keycard.users.setPassword(params.id, body.password, {
          context: actor(request.auth),
        });
        return respond(request, '/admin', { user: toPublicUser(user) });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/auth/admin/users/:id/sessions',
      access: admin,
      schema: {
        summary: "A user's logins",
        description:
          'Newest first, a page at a time: `limit` and the `next` of the previous page as `cursor`.',
        tags: ['admin'],
        params: IdParams,
        query: CursorPageQuery,
        answers: { 200: { description: 'A page of logins.', json: SessionList }, 404: noSuchUser },
      },
      async handle(request, { params, query }) {
        await requireUser(params.id);
        const page = await keycard.logins.listPage(params.id, {
          limit: pageLimit(query),
          cursor: query.cursor,
        });
        return json({
          sessions: page.logins.map((record) => toPublicSession(record, request.auth.loginId)),
          next: page.next,
        });
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/auth/admin/users/:id/sessions',
      access: admin,
      schema: {
        summary: "End all of a user's logins",
        description:
          'Sessions deleted and token logins revoked, as blocking does; the user may sign in again.',
        tags: ['admin'],
        params: IdParams,
        answers: {
          200: {
            description: 'Ended.',
            json: Type.Object(
              { ok: Type.Literal(true), revoked: Type.Integer() },
              { additionalProperties: false },
            ),
          },
          404: noSuchUser,
        },
      },
      async handle(request, { params }) {
        await requireUser(params.id);
        const count = await keycard.revokeAllSessions(params.id, { reason: 'admin', ...actor(request.auth) });
        return json({ ok: true, revoked: count });
      },
    }),
    defineRoute({
      // The same for HTML forms, which cannot send DELETE.
      method: 'POST',
      path: '/auth/admin/users/:id/sessions/revoke',
      access: admin,
      schema: {
        summary: "End all of a user's logins (for HTML forms)",
        tags: ['admin'],
        params: IdParams,
        answers: {
          200: {
            description: 'Ended.',
            json: Type.Object(
              { ok: Type.Literal(true), revoked: Type.Integer() },
              { additionalProperties: false },
            ),
          },
          303: redirect('/admin/users/:id, saying how many ended'),
          404: noSuchUser,
        },
      },
      async handle(request, { params }) {
        await requireUser(params.id);
        const count = await keycard.revokeAllSessions(params.id, { reason: 'admin', ...actor(request.auth) });
        return respond(request, `/admin/users/${params.id}?outcome=sessions_ended`, {
          ok: true,
          revoked: count,
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/auth/admin/audit',
      access: admin,
      schema: {
        summary: 'The audit log',
        description:
          'Newest first, a page at a time: `limit` and the `next` of the previous page as `before`. Filters combine: `user` (an id), `type` (comma-separated event types), `since` and `until` (ISO 8601 times; `until` is exclusive).',
        tags: ['admin'],
        query: AuditPageQuery,
        answers: {
          200: { description: 'A page of records.', json: AuditList },
          404: error('The audit log is off (audit: false) (not_found).'),
        },
      },
      handle: async (_request, { query }) => json(await listAuditPage(keycard, query)),
    }),
    // Invitations to sign up and reset links (account-routes.ts).
    ...adminLinkRoutes(keycard),
  ];
  // Every admin action is sensitive: it needs a recent proof (docs/mfa.md, "Step-up"); reads do not.
  return [...routes, ...adminMfaRoutes(keycard)].map((route) =>
    route.method === 'GET' ? route : withStepUp(keycard, route),
  );
}

export interface AuditPage {
  records: (Omit<AuditRecord, 'at'> & { at: string })[];
  /** Pass as `before` for the next page; null on the last page. */
  next: string | null;
}

/** A page of the audit log, newest first; `query` was checked against AuditPageQuery. */
export async function listAuditPage(
  keycard: Keycard,
  query: { limit?: string; before?: string; user?: string; type?: string; since?: string; until?: string },
): Promise<AuditPage> {
  if (!keycard.audit) throw new KeycardError('not_found', 'the audit log is off (audit: false)');
  const limit = pageLimit(query);
  const records = await keycard.audit.list({
    limit: limit + 1,
    ...(query.before ? { before: query.before } : {}),
    ...(query.user ? { userId: query.user } : {}),
    ...(query.type ? { types: [...new Set(query.type.split(','))] } : {}),
    ...timeBound('since', query.since),
    ...timeBound('until', query.until),
  });
  const page = records.slice(0, limit);
  return {
    records: page.map((record) => ({ ...record, at: new Date(record.at).toISOString() })),
    next: records.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

/** An ISO 8601 time of the audit query as milliseconds; one the calendar has not (month 13) is 400. */
function timeBound(field: 'since' | 'until', value: string | undefined): Record<string, number> {
  if (value === undefined) return {};
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new KeycardError('invalid_request', `${field} is not a time the calendar has`, { field });
  }
  return { [field]: ms };
}

/** The admin's own account is refused by the routes that could lock them out or skip a check. */
function notSelf(request: ApiRequest, id: string, message: string): void {
  if (id === request.auth.user?.id) throw new KeycardError('invalid_request', message, { field: 'id' });
}
