/**
 * The account-link routes: an email address of one's own and its verification, and password reset by
 * mail. The work is `keycard.accounts`' (core/accounts/service.ts); these routes only read the body,
 * apply the request guard, and answer JSON clients and the pages' forms.
 */
import { Type } from '@sinclair/typebox';
import { type AuthContext, type Keycard, KeycardError, toAuthUser, toPublicUser } from 'keycard';
import { MAX_EMAIL_INPUT_LENGTH } from '../core/accounts/email.js';
import { MAX_PASSWORD_INPUT_LENGTH } from '../core/users/credentials.js';
import { loginAnswer } from './login-answer.js';
import { invitationPage } from './pages/account-views.js';
import { isStepUpRefusal } from './pages/mfa-views.js';
import { type ApiReply, type ApiRequest, type ApiRoute, defineRoute } from './route.js';
import { IdParams, NO_PROTO } from './schema.js';
import {
  error,
  LoginAnswer,
  mailUnavailable,
  Ok,
  redirect,
  stepUpRequired,
  tooManyRequests,
  UserAnswer,
} from './shapes.js';

const Email = Type.String({ minLength: 1, maxLength: MAX_EMAIL_INPUT_LENGTH });
const NewPassword = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH });
/** A link's token as it came; its shape is checked by core before any store read. */
const LinkToken = Type.String({ minLength: 1, maxLength: 256 });

function json(body: unknown, status = 200): ApiReply {
  return { kind: 'json', status, body };
}

function context(auth: AuthContext): { ip: string | null; userAgent: string | null } {
  return { ip: auth.request.ip, userAgent: auth.request.header('user-agent') ?? null };
}

/**
 * For a form, a redirect to `page` saying `code`: the page looks the code up in a closed list, so nothing
 * a crafted link carries is shown as text. `extra` keeps a query parameter (the reset token) for a retry.
 */
function outcome(page: string, code: string, extra: Record<string, string> = {}): ApiReply {
  const query = new URLSearchParams({ ...extra, outcome: code });
  return { kind: 'redirect', location: `${page}?${query}` };
}

/** Runs `work`; a form gets its failure as a redirect with the error's code, a JSON client the error. */
async function formOr(
  request: ApiRequest,
  page: string,
  work: () => Promise<ApiReply>,
  extra?: Record<string, string>,
): Promise<ApiReply> {
  try {
    return await work();
  } catch (failure) {
    if (
      request.form &&
      failure instanceof KeycardError &&
      failure.status < 500 &&
      failure.code !== 'too_many_requests' &&
      // Sent to /step-up by the error handler instead (docs/mfa.md).
      !isStepUpRefusal(failure)
    ) {
      return outcome(page, failure.field === 'confirm_password' ? 'mismatch' : failure.code, extra);
    }
    throw failure;
  }
}

/** The sign-in guard's refusals, which the anonymous link routes apply too. */
const guarded = error(
  'A form from another site (cross_site_request), or a browser request without its pre-login CSRF token (csrf_rejected).',
);

const mismatch = () =>
  new KeycardError('invalid_request', 'the new password and its confirmation differ', {
    field: 'confirm_password',
  });

export function accountRoutes(keycard: Keycard): ApiRoute[] {
  const { accounts } = keycard;
  return [
    defineRoute({
      method: 'POST',
      path: '/auth/signup',
      schema: {
        summary: 'Sign up',
        description:
          "Creates an account and signs in, where the server allows it (`--signup`): `open` (throttled per client address) or `invite` (with the invitation link's token). The name, password and address are checked as an admin's creation is (no look-alike names, the password policy, a free address); a refusal uses no invitation up. Closed by default (403).",
        tags: ['account'],
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 256 }),
            password: NewPassword,
            confirm_password: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_INPUT_LENGTH })),
            email: Type.Optional(Type.String({ maxLength: MAX_EMAIL_INPUT_LENGTH })),
            invitation: Type.Optional(LinkToken),
          },
          NO_PROTO,
        ),
        answers: {
          201: { description: 'Created and signed in (as a sign-in answers).', json: LoginAnswer },
          303: redirect('/account, or back to /signup saying why not'),
          401: error('The invitation is unknown, expired or used (token_invalid).'),
          403: error(
            'Sign-up is closed, or by invitation and none was given (forbidden); or a cross-site form (cross_site_request, csrf_rejected).',
          ),
          409: error('The username or address is taken (username_taken, email_taken).'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        const { auth } = request;
        auth.guardLogin();
        const kept = {
          ...(body.invitation ? { invitation: body.invitation } : {}),
          username: body.username.slice(0, 256),
          ...(body.email ? { email: body.email.slice(0, MAX_EMAIL_INPUT_LENGTH) } : {}),
        };
        return formOr(
          request,
          '/signup',
          async () => {
            if (body.confirm_password !== undefined && body.confirm_password !== body.password) {
              throw new KeycardError('invalid_request', 'the password and its confirmation differ', {
                field: 'confirm_password',
              });
            }
            const user = await accounts.signUp(body, context(auth));
            const login = await auth.login(toAuthUser(user));
            return request.form
              ? { kind: 'redirect', location: '/account' }
              : json(loginAnswer(auth, user, login), 201);
          },
          kept,
        );
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/password/forgot',
      schema: {
        summary: 'Forgot my password',
        description:
          'Mails a reset link (valid 30 minutes, single use) if an account has this address. The answer is the same whether or not one has: the lookup and the mail happen after it. Throttled per client address and per email address.',
        tags: ['account'],
        body: Type.Object({ email: Email }, NO_PROTO),
        answers: {
          200: { description: 'Accepted (whether or not the address is known).', json: Ok },
          303: redirect('/forgot-password, saying a link was sent if the address is known'),
          403: guarded,
          429: tooManyRequests,
          503: mailUnavailable,
        },
      },
      async handle(request, { body }) {
        // Like a sign-in: no cross-site form, and a browser's needs its pre-login CSRF token (a refusal is
        // 403, never a redirect back to the form).
        request.auth.guardLogin();
        return formOr(request, '/forgot-password', async () => {
          await accounts.requestPasswordReset(body.email, context(request.auth));
          return request.form ? outcome('/forgot-password', 'sent') : json({ ok: true });
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/password/reset',
      schema: {
        summary: 'Reset my password with a link',
        description:
          "The token from the reset link and a new password (the policy applies). Every login of the user ends; sign in with the new password. A password the policy refuses leaves the link usable; an unknown, expired or used link is refused and counted against the client's address.",
        tags: ['account'],
        body: Type.Object(
          {
            token: LinkToken,
            new_password: NewPassword,
            confirm_password: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_INPUT_LENGTH })),
          },
          NO_PROTO,
        ),
        answers: {
          200: { description: 'Reset.', json: Ok },
          303: redirect('/login saying the password was reset, or back to /reset-password saying why not'),
          401: error('The link is unknown, expired or used (token_invalid).'),
          403: guarded,
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        request.auth.guardLogin();
        return formOr(
          request,
          '/reset-password',
          async () => {
            if (body.confirm_password !== undefined && body.confirm_password !== body.new_password)
              throw mismatch();
            await accounts.resetPassword(body.token, body.new_password, context(request.auth));
            return request.form ? outcome('/login', 'password_reset') : json({ ok: true });
          },
          { token: body.token },
        );
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/email',
      access: { live: true },
      schema: {
        summary: 'Set my email address',
        description:
          'Needs the current password (a wrong one counts against the sign-in throttle, as a password change does). The address is unverified until the verification link mailed to it is used.',
        tags: ['account'],
        body: Type.Object(
          {
            email: Email,
            current_password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }),
          },
          NO_PROTO,
        ),
        answers: {
          200: {
            description: 'Set; a verification link was mailed when a mailer is configured.',
            json: UserAnswer,
          },
          303: redirect('/account, saying what happened'),
          401: error('The current password is not right (invalid_credentials).'),
          403: stepUpRequired,
          409: error('Another account has this address (email_taken).'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        return formOr(request, '/account', async () => {
          const auth = request.auth;
          const userId = (auth.user as { id: string }).id;
          await keycard.requireStepUp(auth, { passwordShown: true });
          await keycard.confirmPassword(auth, body.current_password);
          let user = await accounts.setEmail(userId, body.email, context(auth));
          if (accounts.canMail) {
            await accounts.sendVerification(userId, context(auth));
            user = (await keycard.users.get(userId)) ?? user;
          }
          return request.form
            ? outcome('/account', accounts.canMail ? 'email_sent' : 'email_set')
            : json({ user: toPublicUser(user) });
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/email/verification',
      access: { live: true },
      schema: {
        summary: 'Send me a verification link again',
        tags: ['account'],
        answers: {
          200: { description: 'Sent (or the address is verified already).', json: Ok },
          303: redirect('/account'),
          400: error('The account has no email address (invalid_request).'),
          429: tooManyRequests,
          503: mailUnavailable,
        },
      },
      async handle(request) {
        return formOr(request, '/account', async () => {
          await accounts.sendVerification((request.auth.user as { id: string }).id, context(request.auth));
          return request.form ? outcome('/account', 'email_sent') : json({ ok: true });
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/email/verify',
      schema: {
        summary: 'Verify an email address with a link',
        description:
          "The token from the verification link. It needs no sign-in (the link may be opened on another device); it verifies the address only if it is still the account's.",
        tags: ['account'],
        body: Type.Object({ token: LinkToken }, NO_PROTO),
        answers: {
          200: { description: 'Verified.', json: Ok },
          303: redirect('/verify-email, saying whether it worked'),
          401: error('The link is unknown, expired or used (token_invalid).'),
          403: guarded,
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        request.auth.guardLogin();
        return formOr(request, '/verify-email', async () => {
          await accounts.verifyEmail(body.token, context(request.auth));
          return request.form ? outcome('/verify-email', 'verified') : json({ ok: true });
        });
      },
    }),
  ];
}

/** The admin's account links (in the admin table: role `admin`, live login): invitations, reset links. */
export function adminLinkRoutes(keycard: Keycard): ApiRoute[] {
  const Invitation = Type.Object(
    {
      link: Type.String({
        description: 'The sign-up link: shown once, here. Absolute when a public URL is configured.',
      }),
      email: Type.Union([Type.String(), Type.Null()]),
      role: Type.String(),
      expires_at: Type.String({ format: 'date-time' }),
      mailed: Type.Boolean({ description: 'The link was mailed to `email`.' }),
    },
    { additionalProperties: false },
  );
  return [
    defineRoute({
      method: 'POST',
      path: '/auth/admin/users/:id/reset-link',
      access: { roles: ['admin'], live: true },
      schema: {
        summary: 'Mail a user a password reset link',
        description:
          "Mails a reset link (valid 30 minutes, single use) to the user's address now. The user's password and logins are untouched until the link is used. Needs a configured mailer and an address on the account.",
        tags: ['admin'],
        params: IdParams,
        answers: {
          200: {
            description: 'Sent.',
            json: Type.Object(
              { ok: Type.Literal(true), email: Type.String() },
              { additionalProperties: false },
            ),
          },
          303: redirect("the user's admin page, saying the link was sent"),
          400: error('The account has no email address (invalid_request).'),
          403: error('The account is blocked (account_blocked).'),
          404: error('No such user (not_found).'),
          503: mailUnavailable,
        },
      },
      async handle(request, { params }) {
        const sent = await keycard.accounts.sendPasswordReset(params.id, context(request.auth));
        return request.form
          ? { kind: 'redirect', location: `/admin/users/${params.id}?outcome=reset_sent` }
          : json({ ok: true, email: sent.email });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/admin/invitations',
      access: { roles: ['admin'], live: true },
      schema: {
        summary: 'Invite someone',
        description:
          'A single-use sign-up link, valid 7 days, with the role the new account gets; mailed to `email` when given and a mailer is configured. Works whatever `--signup` says, but the link is only usable when it is `invite` or `open`.',
        tags: ['admin'],
        body: Type.Object(
          {
            email: Type.Optional(Type.String({ maxLength: MAX_EMAIL_INPUT_LENGTH })),
            role: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Default: user.' })),
          },
          NO_PROTO,
        ),
        bodyOptional: true,
        answers: {
          201: {
            description: 'Created. An HTML form post without an address gets a page showing the link, once.',
            json: Type.Object({ invitation: Invitation }, { additionalProperties: false }),
            media: 'text/html',
          },
          303: redirect('/admin, saying the invitation was mailed'),
          503: mailUnavailable,
        },
      },
      async handle(request, { body }) {
        const email = body.email === '' ? undefined : body.email;
        const role = body.role === '' ? undefined : body.role;
        const invitation = await keycard.accounts.invite({ email, role }, context(request.auth));
        if (request.form) {
          // Mailed: back to the page, which says so. Not mailed: the link must be shown, once.
          if (invitation.mailed) return { kind: 'redirect', location: '/admin?outcome=invited' };
          return { kind: 'html', status: 201, body: invitationPage(invitation.link) };
        }
        return json(
          {
            invitation: {
              link: invitation.link,
              email: invitation.email,
              role: invitation.role,
              expires_at: new Date(invitation.expiresAt).toISOString(),
              mailed: invitation.mailed,
            },
          },
          201,
        );
      },
    }),
  ];
}
