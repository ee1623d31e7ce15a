/** The HTML pages: sign in, my account (sessions), user admin. Forms post to the JSON API's routes. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser, Keycard } from 'keycard';
import type { DescribedRoute } from '../../api/openapi.js';
import { FAVICON_ICO, FAVICON_SVG } from '../../api/pages/favicon.js';
import {
  LOGIN_NOTICE_CODES,
  loginNotice,
  MAX_LOGIN_USERNAME,
  MAX_RETRY_SECONDS,
} from '../../api/pages/login-notices.js';
import { SESSION_SCRIPT } from '../../api/pages/session-script.js';
import { STYLESHEET } from '../../api/pages/style.js';
import {
  accountPage,
  adminPage,
  errorPage,
  type FirstAdminNotice,
  loginPage,
  resumePage,
  tokenOnlyPage,
} from '../../api/pages/views.js';
import { listUsersPage } from '../../api/routes.js';
import {
  AfterPageQuery,
  CursorPageQuery,
  checkFields,
  NO_PROTO,
  pageLimit,
  type RouteSchema,
} from '../../api/schema.js';
import { error, redirect } from '../../api/shapes.js';

export interface PageOptions {
  /** What the sign-in page says while there are no users yet. */
  firstAdmin: FirstAdminNotice;
}

const page = (description: string) => ({ description, media: 'text/html' });

/** /account's query: a page of logins, and what the change-password form's post came to. */
const AccountPageQuery = Type.Composite([
  CursorPageQuery,
  Type.Object({
    password: Type.Optional(
      Type.String({
        maxLength: 32,
        description:
          'The outcome of the change-password form (changed, or the refusal code); the page says it.',
      }),
    ),
  }),
]);
/** /login's query: what the last form post came to (login-notices.ts), and the username typed. */
const LoginPageQuery = Type.Object(
  {
    error: Type.Optional(
      Type.String({
        maxLength: 32,
        description: `Why the sign-in page was sent back to: ${LOGIN_NOTICE_CODES.join(', ')}; the page says it in its own words (another value says nothing).`,
      }),
    ),
    username: Type.Optional(
      Type.String({
        maxLength: MAX_LOGIN_USERNAME,
        description: 'The username typed, kept in the input.',
      }),
    ),
    retry: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,6}$',
        description: `With error=too_many_requests: the seconds to wait (at most ${MAX_RETRY_SECONDS}).`,
      }),
    ),
  },
  NO_PROTO,
);
/** A page's refusal: an HTML error page for a browser (Accept: text/html), JSON otherwise. */
const pageError = (description: string) => ({ ...error(description), media: 'text/html' });
const resume = page(
  'The signed-in page, or with access tokens in cookies (spa preset) a page that refreshes an expired one and comes back.',
);
const pageSchema = (schema: Omit<RouteSchema, 'tags'>): RouteSchema => ({
  tags: ['pages'],
  ...schema,
  answers: {
    // Pages load the visitor's login, reading the Cookie header: one over its limits is refused.
    400: pageError(
      'A malformed request (invalid_request): a bad page query, or a Cookie header over its limits.',
    ),
    ...schema.answers,
    500: pageError('Something went wrong (internal_error); the server log has the details.'),
    503: pageError('The store cannot be reached (store_unavailable).'),
  },
});

/** The pages, described for the OpenAPI document (src/api/openapi.ts). */
export const PAGE_ROUTES: readonly DescribedRoute[] = [
  {
    method: 'GET',
    path: '/',
    schema: pageSchema({
      summary: 'Home',
      answers: { 200: resume, 303: redirect('/account, or /login when signed out') },
    }),
  },
  {
    method: 'GET',
    path: '/login',
    schema: pageSchema({
      summary: 'The sign-in page',
      description:
        'With tokens in headers (api preset) a page saying that API clients sign in with POST /auth/login.',
      query: LoginPageQuery,
      answers: {
        200: page(
          'The sign-in form, saying why when a form post was sent back here; with access tokens in cookies (spa preset) and one that expired, the page that tries a refresh first.',
        ),
        303: redirect('/account when signed in'),
      },
    }),
  },
  {
    method: 'GET',
    path: '/account',
    schema: pageSchema({
      summary: 'My account: my logins, and changing my password',
      query: AccountPageQuery,
      answers: {
        200: resume,
        303: redirect('/login when signed out'),
      },
    }),
  },
  {
    method: 'GET',
    path: '/admin',
    schema: pageSchema({
      summary: 'User admin',
      query: AfterPageQuery,
      answers: {
        200: resume,
        303: redirect('/login when signed out'),
        403: page('The signed-in user is no admin.'),
      },
    }),
  },
];

/** The pages' assets, described for the OpenAPI document. */
export const ASSET_ROUTES: readonly DescribedRoute[] = [
  {
    method: 'GET',
    path: '/favicon.ico',
    schema: {
      summary: "The pages' icon (ICO)",
      description: 'What a browser asks for by itself, on any page of the server.',
      tags: ['pages'],
      answers: { 200: { description: 'A 16×16 icon.', media: 'image/x-icon' } },
    },
  },
  {
    method: 'GET',
    path: '/favicon.svg',
    schema: {
      summary: "The pages' icon (SVG)",
      description: "Linked from every page's head.",
      tags: ['pages'],
      answers: { 200: { description: 'SVG.', media: 'image/svg+xml' } },
    },
  },
  {
    method: 'GET',
    path: '/assets/keycard.css',
    schema: {
      summary: "The pages' stylesheet",
      tags: ['pages'],
      answers: { 200: { description: 'CSS.', media: 'text/css' } },
    },
  },
  {
    method: 'GET',
    path: '/assets/keycard-session.js',
    schema: {
      summary: "The pages' script",
      description: 'Loaded only with access tokens in cookies (spa preset): keeps the pages signed in.',
      tags: ['pages'],
      answers: { 200: { description: 'JavaScript.', media: 'text/javascript' } },
    },
  },
];

export function registerPageRoutes(app: FastifyInstance, keycard: Keycard, options: PageOptions): void {
  const html = 'text/html; charset=utf-8';
  // Access tokens in cookies (jwt and hybrid): pages refresh them as a single-page app would, so the user
  // stays signed in for the refresh token's lifetime (/assets/keycard-session.js).
  const tokenCookies = keycard.options.strategy !== 'session' && keycard.options.jwt?.transport === 'cookie';

  /** The signed-in user, or null once the answer (resume or sign-in) has been sent. */
  const signedIn = (request: FastifyRequest, reply: FastifyReply): AuthUser | null => {
    const { user } = request.auth;
    if (user) return user;
    // A login that was revoked cannot be refreshed; anything else may be an access token that expired.
    if (tokenCookies && request.auth.problem !== 'revoked') {
      void reply.type(html).send(resumePage());
    } else {
      void reply.redirect('/login', 303);
    }
    return null;
  };
  const keepSignedIn = (request: FastifyRequest) => {
    const exp = request.auth.claims?.exp;
    return tokenCookies && typeof exp === 'number'
      ? { accessExpiresIn: exp - keycard.options.clock.now() / 1000 }
      : undefined;
  };

  app.get('/', async (request, reply) => {
    if (signedIn(request, reply)) return reply.redirect('/account', 303);
    return reply;
  });

  app.get('/login', async (request, reply) => {
    if (keycard.options.jwt?.transport === 'header') {
      // Pages sign in with cookies; a header-transport server hands tokens to API clients instead.
      return reply.type(html).send(tokenOnlyPage());
    }
    if (request.auth.user) return reply.redirect('/account', 303);
    // A stale tab's form post whose access token had merely expired lands here: refresh, and come back
    // signed in (to /account) if the login still lives.
    if (tokenCookies && request.auth.problem === 'expired') return reply.type(html).send(resumePage());
    const query = checkFields(LoginPageQuery, request.query as object);
    const noUsers = (await keycard.users.count()) === 0;
    return reply.type(html).send(
      loginPage({
        csrfToken: request.auth.csrfToken(),
        error: loginNotice(query.error, query.retry),
        username: query.username,
        firstAdmin: noUsers ? options.firstAdmin : null,
      }),
    );
  });

  app.get('/account', async (request, reply) => {
    const user = signedIn(request, reply);
    const { loginId } = request.auth;
    if (!user) return reply;
    if (!loginId) return reply.redirect('/login', 303);
    const query = checkFields(AccountPageQuery, request.query as object);
    const page = await keycard.logins.listPage(user.id, { limit: pageLimit(query), cursor: query.cursor });
    return reply.type(html).send(
      accountPage({
        csrfToken: request.auth.csrfToken(),
        user,
        sessions: page.logins,
        next: page.next,
        currentSessionId: loginId,
        now: keycard.options.clock.now(),
        passwordOutcome: query.password,
        minPasswordLength: keycard.options.passwordPolicy.minLength,
        keepSignedIn: keepSignedIn(request),
      }),
    );
  });

  app.get('/admin', async (request, reply) => {
    const user = signedIn(request, reply);
    if (!user) return reply;
    if (user.role !== 'admin') {
      return reply
        .code(403)
        .type(html)
        .send(errorPage(403, 'This page is for administrators.', user.username, request.auth.csrfToken()));
    }
    const page = await listUsersPage(keycard, checkFields(AfterPageQuery, request.query as object));
    return reply.type(html).send(
      adminPage({
        csrfToken: request.auth.csrfToken(),
        user,
        users: page.users,
        next: page.next,
        roles: keycard.options.roles,
        keepSignedIn: keepSignedIn(request),
      }),
    );
  });
}

export function registerAssetRoutes(app: FastifyInstance): void {
  const day = 'public, max-age=86400';
  app.get('/favicon.ico', async (_request, reply) =>
    reply.type('image/x-icon').header('cache-control', day).send(FAVICON_ICO),
  );
  app.get('/favicon.svg', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', day).send(FAVICON_SVG),
  );
  app.get('/assets/keycard.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.get('/assets/keycard-session.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SESSION_SCRIPT),
  );
}
