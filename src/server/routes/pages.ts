/** The HTML pages: sign in, my account (sessions), user admin. Forms post to the JSON API's routes. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthUser, type Keycard, KeycardError, toPublicUser } from 'keycard';
import type { DescribedRoute } from '../../api/openapi.js';
import {
  ADMIN_OUTCOMES,
  forgotPasswordPage,
  outcomeOf,
  resetPasswordPage,
  signupPage,
  verifyEmailPage,
} from '../../api/pages/account-views.js';
import { adminUserPage } from '../../api/pages/admin-user-view.js';
import { FAVICON_ICO, FAVICON_SVG } from '../../api/pages/favicon.js';
import {
  LOGIN_NOTICE_CODES,
  loginNotice,
  MAX_LOGIN_USERNAME,
  MAX_RETRY_SECONDS,
} from '../../api/pages/login-notices.js';
import { safeReturnPath, stepUpPage } from '../../api/pages/mfa-views.js';
import { SESSION_SCRIPT } from '../../api/pages/session-script.js';
import { STYLESHEET } from '../../api/pages/style.js';
import {
  accountPage,
  adminPage,
  auditPage,
  errorPage,
  type FirstAdminNotice,
  type HourCount,
  loginPage,
  resumePage,
  tokenOnlyPage,
} from '../../api/pages/views.js';
import { listAuditPage, listUsersPage } from '../../api/routes.js';
import {
  AuditPageQuery,
  CursorPageQuery,
  checkFields,
  IdParams,
  NO_PROTO,
  pageLimit,
  type RouteSchema,
  UserSearchQuery,
} from '../../api/schema.js';
import { error, redirect } from '../../api/shapes.js';

export interface PageOptions {
  /** What the sign-in page says while there are no users yet. */
  firstAdmin: FirstAdminNotice;
}

const page = (description: string) => ({ description, media: 'text/html' });

/** `?outcome=`: what a form's post came to, as a code the page looks up in a closed list. */
const Outcome = Type.Optional(
  Type.String({ maxLength: 32, description: "What the form's post came to; the page says it." }),
);
/** A link's token, as the mail carried it (checked when the form posts it). */
const LinkToken = Type.Optional(
  Type.String({ maxLength: 256, description: "The token from the mail's link." }),
);
const OutcomeQuery = Type.Object({ outcome: Outcome }, NO_PROTO);
const LinkQuery = Type.Object({ token: LinkToken, outcome: Outcome }, NO_PROTO);
/** /signup's query: the invitation's token, and after a refused form what it said and the input kept. */
const SignupQuery = Type.Object(
  {
    invitation: LinkToken,
    outcome: Outcome,
    username: Type.Optional(
      Type.String({ maxLength: 256, description: 'The name typed, kept after a refusal.' }),
    ),
    email: Type.Optional(
      Type.String({ maxLength: 320, description: 'The address typed, kept after a refusal.' }),
    ),
  },
  NO_PROTO,
);
const AdminUserQuery = Type.Composite([CursorPageQuery, Type.Object({ outcome: Outcome })]);
const AdminPageQuery = Type.Composite([UserSearchQuery, Type.Object({ outcome: Outcome })]);

/** /account's query: a page of logins, and what the change-password and email forms' posts came to. */
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
    outcome: Outcome,
    security: Type.Optional(
      Type.String({
        maxLength: 32,
        description: 'What a form of the Security section came to (a code); the page says it.',
      }),
    ),
  }),
]);
/** /step-up's query: where to go back to, and why the last try was refused. */
const StepUpQuery = Type.Object(
  {
    next: Type.Optional(
      Type.String({ maxLength: 512, description: 'A path on this site to go back to afterwards.' }),
    ),
    error: Type.Optional(
      Type.String({
        maxLength: 32,
        description: 'Why the last try was refused (a code); the page says it in its own words.',
      }),
    ),
  },
  NO_PROTO,
);
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
    outcome: Outcome,
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
    path: '/admin/users/:id',
    schema: pageSchema({
      summary: 'One user, for admins',
      description:
        "The user's role, status and address, their sessions (a page at a time), and forms to end them all or mail a reset link.",
      params: IdParams,
      query: AdminUserQuery,
      answers: {
        200: resume,
        303: redirect('/login when signed out'),
        403: page('The signed-in user is no admin.'),
        404: page('No such user.'),
      },
    }),
  },
  {
    method: 'GET',
    path: '/forgot-password',
    schema: pageSchema({
      summary: 'Forgot my password',
      description: 'A form posting to POST /auth/password/forgot.',
      query: OutcomeQuery,
      answers: { 200: page('The form.') },
    }),
  },
  {
    method: 'GET',
    path: '/reset-password',
    schema: pageSchema({
      summary: 'Choose a new password (from a reset link)',
      description:
        "The reset link's page: a form posting the token and the new password to POST /auth/password/reset. Opening it uses nothing up.",
      query: LinkQuery,
      answers: { 200: page('The form.') },
    }),
  },
  {
    method: 'GET',
    path: '/signup',
    schema: pageSchema({
      summary: 'Create an account',
      description:
        'The sign-up form (posting to POST /auth/signup) when sign-up is open, or by invitation with `?invitation=`; otherwise a page saying how accounts are made here.',
      query: SignupQuery,
      answers: { 200: page('The form, or why there is none.'), 303: redirect('/account when signed in') },
    }),
  },
  {
    method: 'GET',
    path: '/verify-email',
    schema: pageSchema({
      summary: 'Verify my email address (from a verification link)',
      description:
        "The verification link's page: a button posting the token to POST /auth/email/verify, so that a mail scanner fetching the link uses nothing up.",
      query: LinkQuery,
      answers: { 200: page('The page.') },
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
    path: '/step-up',
    schema: pageSchema({
      summary: 'Confirm it is me (step-up)',
      description:
        'Where a refused sensitive form post (403 step_up_required) is sent: a form asking for a second-factor code, or the password for a user without one, posting to POST /auth/mfa/step-up, then back to `then`.',
      query: StepUpQuery,
      answers: { 200: resume, 303: redirect('/login when signed out') },
    }),
  },
  {
    method: 'GET',
    path: '/admin',
    schema: pageSchema({
      summary: 'User admin',
      query: AdminPageQuery,
      answers: {
        200: resume,
        303: redirect('/login when signed out'),
        403: page('The signed-in user is no admin.'),
      },
    }),
  },
  {
    method: 'GET',
    path: '/admin/audit',
    schema: pageSchema({
      summary: 'The audit log',
      description:
        'Newest first, filtered as GET /auth/admin/audit is, with a chart of sign-ins and failures per hour over the last day.',
      query: AuditPageQuery,
      answers: {
        200: resume,
        303: redirect('/login when signed out'),
        403: page('The signed-in user is no admin.'),
        404: page('The audit log is off (audit: false).'),
      },
    }),
  },
];

const HOUR_MS = 3_600_000;
/** Records read for the chart, at most: a day of sign-ins beyond it is drawn from the newest ones. */
const CHART_RECORD_CAP = 10_000;

/** Sign-ins and failed sign-ins per hour over the last 24 hours, oldest hour first. */
async function hourlySignIns(keycard: Keycard): Promise<{ hours: HourCount[]; capped: boolean }> {
  const now = keycard.options.clock.now();
  const first = Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
  const hours: HourCount[] = Array.from({ length: 24 }, (_, i) => ({
    start: first + i * HOUR_MS,
    succeeded: 0,
    failed: 0,
  }));
  let before: string | undefined;
  let read = 0;
  while (keycard.audit && read < CHART_RECORD_CAP) {
    const records = await keycard.audit.list({
      limit: 1000,
      types: ['login_succeeded', 'login_failed'],
      since: first,
      ...(before ? { before } : {}),
    });
    for (const record of records) {
      const hour = hours[Math.floor((record.at - first) / HOUR_MS)];
      if (!hour) continue;
      if (record.type === 'login_succeeded') hour.succeeded++;
      else hour.failed++;
    }
    read += records.length;
    if (records.length < 1000) return { hours, capped: false };
    before = records[records.length - 1]?.id;
  }
  return { hours, capped: read >= CHART_RECORD_CAP };
}

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
        outcome: query.outcome,
        canReset: keycard.accounts.canMail,
        canSignUp: keycard.accounts.signupMode === 'open',
        passkeys: keycard.mfa.passkeys !== null,
      }),
    );
  });

  // The account-link pages: anyone may open them; the forms carry the pre-login CSRF token.
  app.get('/forgot-password', async (request, reply) => {
    const query = checkFields(OutcomeQuery, request.query as object);
    return reply
      .type(html)
      .send(forgotPasswordPage({ csrfToken: request.auth.csrfToken(), outcome: query.outcome }));
  });
  app.get('/reset-password', async (request, reply) => {
    const query = checkFields(LinkQuery, request.query as object);
    return reply.type(html).send(
      resetPasswordPage({
        csrfToken: request.auth.csrfToken(),
        token: query.token,
        outcome: query.outcome,
        minPasswordLength: keycard.options.passwordPolicy.minLength,
      }),
    );
  });
  app.get('/signup', async (request, reply) => {
    if (request.auth.user) return reply.redirect('/account', 303);
    const query = checkFields(SignupQuery, request.query as object);
    return reply.type(html).send(
      signupPage({
        csrfToken: request.auth.csrfToken(),
        mode: keycard.accounts.signupMode,
        invitation: query.invitation,
        outcome: query.outcome,
        username: query.username,
        email: query.email,
        minPasswordLength: keycard.options.passwordPolicy.minLength,
      }),
    );
  });
  app.get('/verify-email', async (request, reply) => {
    const query = checkFields(LinkQuery, request.query as object);
    return reply
      .type(html)
      .send(
        verifyEmailPage({ csrfToken: request.auth.csrfToken(), token: query.token, outcome: query.outcome }),
      );
  });

  app.get('/account', async (request, reply) => {
    const user = signedIn(request, reply);
    const { loginId } = request.auth;
    if (!user) return reply;
    if (!loginId) return reply.redirect('/login', 303);
    const query = checkFields(AccountPageQuery, request.query as object);
    const [page, record, factors] = await Promise.all([
      keycard.logins.listPage(user.id, { limit: pageLimit(query), cursor: query.cursor }),
      keycard.users.get(user.id),
      keycard.mfa.listFactors(user.id),
    ]);
    return reply.type(html).send(
      accountPage({
        csrfToken: request.auth.csrfToken(),
        user,
        sessions: page.logins,
        next: page.next,
        currentSessionId: loginId,
        now: keycard.options.clock.now(),
        passwordOutcome: query.password,
        email: { address: record?.email ?? null, verified: typeof record?.emailVerifiedAt === 'number' },
        emailOutcome: query.outcome,
        canMail: keycard.accounts.canMail,
        minPasswordLength: keycard.options.passwordPolicy.minLength,
        keepSignedIn: keepSignedIn(request),
        security: {
          csrfToken: request.auth.csrfToken(),
          factors,
          now: keycard.options.clock.now(),
          totpAvailable: keycard.mfa.totpAvailable,
          passkeysAvailable: keycard.mfa.passkeys !== null,
          outcome: query.security,
        },
      }),
    );
  });

  app.get('/step-up', async (request, reply) => {
    const user = signedIn(request, reply);
    if (!user) return reply;
    const query = checkFields(StepUpQuery, request.query as object);
    const factors = await keycard.mfa.signInFactors(user.id);
    return reply.type(html).send(
      stepUpPage({
        csrfToken: request.auth.csrfToken(),
        username: user.username,
        hasFactor: factors.length > 0,
        passkey: keycard.mfa.passkeys !== null && factors.includes('passkey'),
        next: safeReturnPath(query.next),
        error: query.error,
      }),
    );
  });

  /** The signed-in admin, or null once the answer (resume, sign-in or 403) has been sent. */
  const signedInAdmin = (request: FastifyRequest, reply: FastifyReply): AuthUser | null => {
    const user = signedIn(request, reply);
    if (!user) return null;
    if (user.role === 'admin') return user;
    void reply
      .code(403)
      .type(html)
      .send(errorPage(403, 'This page is for administrators.', user.username, request.auth.csrfToken()));
    return null;
  };

  app.get('/admin/users/:id', async (request, reply) => {
    const user = signedInAdmin(request, reply);
    if (!user) return reply;
    const { id } = checkFields(IdParams, request.params as object);
    const query = checkFields(AdminUserQuery, request.query as object);
    const subject = await keycard.users.get(id);
    if (!subject) {
      return reply
        .code(404)
        .type(html)
        .send(errorPage(404, 'No such user.', user.username, request.auth.csrfToken()));
    }
    const [logins, factors] = await Promise.all([
      keycard.logins.listPage(id, { limit: pageLimit(query), cursor: query.cursor }),
      keycard.mfa.listFactors(id),
    ]);
    return reply.type(html).send(
      adminUserPage({
        csrfToken: request.auth.csrfToken(),
        user,
        subject: toPublicUser(subject),
        sessions: logins.logins,
        next: logins.next,
        now: keycard.options.clock.now(),
        outcome: query.outcome,
        canMail: keycard.accounts.canMail,
        keepSignedIn: keepSignedIn(request),
        // Recovery codes are no factor of their own: they come and go with the others.
        factorCount: factors.filter((factor) => factor.confirmed && factor.kind !== 'recovery').length,
      }),
    );
  });

  app.get('/admin/audit', async (request, reply) => {
    const user = signedInAdmin(request, reply);
    if (!user) return reply;
    if (!keycard.audit) {
      return reply
        .code(404)
        .type(html)
        .send(
          errorPage(404, 'The audit log is off on this server.', user.username, request.auth.csrfToken()),
        );
    }
    // The filter form sends its empty fields too (`user=`): an empty field is no filter.
    const sent = Object.entries(request.query as Record<string, unknown>).filter(([, value]) => value !== '');
    const query = checkFields(AuditPageQuery, Object.fromEntries(sent));
    let listed: Awaited<ReturnType<typeof listAuditPage>> = { records: [], next: null };
    let problem: string | undefined;
    try {
      listed = await listAuditPage(keycard, query);
    } catch (failure) {
      // A filter the calendar refuses (since/until) is said on the page, by the form.
      if (!(failure instanceof KeycardError && failure.status === 400)) throw failure;
      problem = failure.message;
    }
    const chart = await hourlySignIns(keycard);
    return reply.type(html).send(
      auditPage({
        csrfToken: request.auth.csrfToken(),
        user,
        records: listed.records,
        next: listed.next,
        filters: { type: query.type, user: query.user },
        hours: chart.hours,
        capped: chart.capped,
        error: problem,
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
    const query = checkFields(AdminPageQuery, request.query as object);
    let page: Awaited<ReturnType<typeof listUsersPage>>;
    let problem: string | undefined;
    try {
      page = await listUsersPage(keycard, query);
    } catch (failure) {
      // A search no username can match is said on the page, by the search box, with the query kept.
      if (!(failure instanceof KeycardError && failure.field === 'q')) throw failure;
      page = { users: [], next: null };
      problem = failure.message;
    }
    return reply.type(html).send(
      adminPage({
        csrfToken: request.auth.csrfToken(),
        user,
        users: page.users,
        next: page.next,
        roles: keycard.options.roles,
        query: query.q,
        error: problem,
        keepSignedIn: keepSignedIn(request),
        notice: outcomeOf(ADMIN_OUTCOMES, query.outcome)?.text,
        canMail: keycard.accounts.canMail,
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
