/**
 * Second factors' routes (docs/mfa.md): a user's factors and their enrolment, the sign-in's second step,
 * step-up, and the admin's reset. The work is core's (`keycard.mfa`, `completeSignIn`, `stepUp`,
 * `requireStepUp`); these routes read the body and answer.
 */
import { Type } from '@sinclair/typebox';
import { type AuthContext, type AuthorizeOptions, type Keycard, KeycardError } from 'keycard';
import type { PublicFactor as CorePublicFactor } from '../core/mfa/factors.js';
import { MAX_PASSWORD_INPUT_LENGTH } from '../core/users/credentials.js';
import { loginAnswer } from './login-answer.js';
import {
  recoveryCodesPage,
  safeReturnPath,
  secondStepPage,
  totpEnrollPage,
  totpRetryPage,
} from './pages/mfa-views.js';
import { type ApiReply, type ApiRequest, type ApiRoute, defineRoute } from './route.js';
import { FormBoolean, IdParams, NO_PROTO } from './schema.js';
import {
  error,
  LoginAnswer,
  Ok,
  PublicFactor,
  RecoveryCodes,
  redirect,
  stepUpRequired,
  tooManyRequests,
} from './shapes.js';

function json(body: unknown, status = 200): ApiReply {
  return { kind: 'json', status, body };
}

/** A page after a form post: never cached (it shows a secret or codes once). */
function htmlPage(body: string, status = 200): ApiReply {
  return { kind: 'html', status, headers: { 'cache-control': 'no-store' }, body };
}

function actor(auth: AuthContext): { ip: string | null; userAgent: string | null } {
  return { ip: auth.request.ip, userAgent: auth.request.header('user-agent') ?? null };
}

export function toFactorAnswer(factor: CorePublicFactor): Record<string, unknown> {
  return {
    id: factor.id,
    kind: factor.kind,
    name: factor.name,
    confirmed: factor.confirmed,
    created_at: new Date(factor.createdAt).toISOString(),
    last_used_at: factor.lastUsedAt === null ? null : new Date(factor.lastUsedAt).toISOString(),
    ...(factor.remaining !== undefined ? { remaining: factor.remaining } : {}),
  };
}

/** The signed-in user, or 401. */
function userOf(request: ApiRequest): { id: string; username: string; role: string } {
  const { user } = request.auth;
  if (!user) throw new KeycardError('unauthenticated', 'sign in first');
  return user;
}

const Code = Type.String({ minLength: 1, maxLength: 64, description: 'A TOTP code, or a recovery code.' });
const MfaToken = Type.String({ minLength: 1, maxLength: 256 });
const Passkey = Type.Unknown({
  description: 'A WebAuthn assertion (@simplewebauthn/browser startAuthentication).',
});
const FactorName = Type.String({ minLength: 1, maxLength: 64 });

/**
 * Wraps a sensitive route: the step-up rule (`keycard.requireStepUp`) runs before anything it reads, so a
 * caller without a recent proof learns nothing from the body's checks.
 */
export function withStepUp(
  keycard: Keycard,
  route: ApiRoute,
  options?: { passwordShown?: boolean; enrolling?: boolean },
): ApiRoute {
  const refused = route.schema.answers[403];
  const answers = {
    ...route.schema.answers,
    403: refused
      ? { ...stepUpRequired, description: `${refused.description} ${stepUpRequired.description}` }
      : stepUpRequired,
  };
  return {
    ...route,
    schema: { ...route.schema, answers },
    async handle(request) {
      await keycard.requireStepUp(request.auth, options);
      return route.handle(request);
    },
  };
}

export function mfaRoutes(keycard: Keycard): ApiRoute[] {
  const live: AuthorizeOptions = { live: true };
  const sensitive = (route: ApiRoute) => withStepUp(keycard, route);
  // Adding a factor: a recent proof, but open to a user whose role needs a factor they do not have yet.
  const enrolment = (route: ApiRoute) => withStepUp(keycard, route, { enrolling: true });
  const removeFactor = async (request: ApiRequest, id: string): Promise<ApiReply> => {
    const removed = await keycard.mfa.removeFactor(userOf(request).id, id, actor(request.auth));
    if (!removed) throw new KeycardError('not_found', 'no such factor');
    return request.form
      ? { kind: 'redirect', location: '/account?security=removed#security' }
      : json({ ok: true });
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/auth/mfa',
      access: live,
      schema: {
        summary: 'My second factors',
        description:
          'The signed-in user’s factors (never their secrets), and which kinds this server offers.',
        tags: ['mfa'],
        answers: {
          200: {
            description: 'The factors.',
            json: Type.Object(
              {
                factors: Type.Array(PublicFactor),
                totp_available: Type.Boolean(),
                passkeys_available: Type.Boolean(),
              },
              { additionalProperties: false },
            ),
          },
          401: error('No login.'),
        },
      },
      async handle(request) {
        const factors = await keycard.mfa.listFactors(userOf(request).id);
        return json({
          factors: factors.map(toFactorAnswer),
          totp_available: keycard.mfa.totpAvailable,
          passkeys_available: keycard.mfa.passkeys !== null,
        });
      },
    }),
    enrolment(
      defineRoute({
        method: 'POST',
        path: '/auth/mfa/totp',
        access: live,
        schema: {
          summary: 'Start adding an authenticator app',
          description:
            'A new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s), its otpauth:// URI and a QR code (SVG). It is not a factor until POST /auth/mfa/totp/confirm gets a first valid code; an earlier unconfirmed one is replaced.',
          tags: ['mfa'],
          body: Type.Object({ name: Type.Optional(FactorName) }, NO_PROTO),
          bodyOptional: true,
          answers: {
            200: {
              description:
                'Show the QR code (or the secret) to the user once. A form post gets a page with both and the confirm form.',
              media: 'text/html',
              json: Type.Object(
                {
                  factor_id: Type.String(),
                  secret: Type.String({ description: 'Base32, for typing into an app.' }),
                  uri: Type.String(),
                  qr_svg: Type.String({ description: 'The URI as a QR code, an SVG document.' }),
                },
                { additionalProperties: false },
              ),
            },
            401: error('No login.'),
            403: stepUpRequired,
            500: error('TOTP is not configured: no secret to encrypt it with (invalid_configuration).'),
          },
        },
        async handle(request, { body }) {
          const user = userOf(request);
          const started = await keycard.mfa.beginTotp(user, body?.name);
          if (request.form) {
            return htmlPage(
              totpEnrollPage({
                csrfToken: request.auth.csrfToken(),
                username: user.username,
                secret: started.secret,
                qrSvg: started.qrSvg,
              }),
            );
          }
          return json({
            factor_id: started.factorId,
            secret: started.secret,
            uri: started.uri,
            qr_svg: started.qrSvg,
          });
        },
      }),
    ),
    enrolment(
      defineRoute({
        method: 'POST',
        path: '/auth/mfa/totp/confirm',
        access: live,
        schema: {
          summary: 'Confirm an authenticator app',
          description:
            'The first code from the app makes the pending TOTP a factor. The user’s first second factor also gets 10 recovery codes, answered this once.',
          tags: ['mfa'],
          body: Type.Object({ code: Code }, NO_PROTO),
          answers: {
            200: {
              description: 'Confirmed. A form post gets a page showing the recovery codes, if any.',
              media: 'text/html',
              json: Type.Object(
                { factor: PublicFactor, recovery_codes: RecoveryCodes },
                { additionalProperties: false },
              ),
            },
            303: redirect('/account#security (a form post, when there are no new recovery codes to show)'),
            400: {
              ...error('No enrolment to confirm, or a malformed code (invalid_request).'),
              media: 'text/html',
            },
            401: {
              ...error(
                'The code is not right (invalid_code), or no login. A form post gets the code form again.',
              ),
              media: 'text/html',
            },
            403: stepUpRequired,
            429: tooManyRequests,
          },
        },
        async handle(request, { body }) {
          const user = userOf(request);
          let result: Awaited<ReturnType<Keycard['confirmTotp']>>;
          try {
            result = await keycard.confirmTotp(request.auth, body.code);
          } catch (failure) {
            // A form: the code form again, saying why (the key is not shown twice).
            const retry =
              failure instanceof KeycardError &&
              (failure.code === 'invalid_code' || failure.code === 'invalid_request');
            if (!request.form || !retry) throw failure;
            return htmlPage(
              totpRetryPage({
                csrfToken: request.auth.csrfToken(),
                username: user.username,
                error: failure.code,
              }),
              failure.status,
            );
          }
          if (request.form) {
            const codes = result.recoveryCodes ?? [];
            if (codes.length === 0) return { kind: 'redirect', location: '/account?security=added#security' };
            return htmlPage(
              recoveryCodesPage({
                csrfToken: request.auth.csrfToken(),
                username: user.username,
                codes,
                added: true,
              }),
            );
          }
          return json({ factor: toFactorAnswer(result.factor), recovery_codes: result.recoveryCodes });
        },
      }),
    ),
    sensitive(
      defineRoute({
        method: 'DELETE',
        path: '/auth/mfa/factors/:id',
        access: live,
        schema: {
          summary: 'Remove one of my factors',
          description: 'Removing the last second factor removes the recovery codes too.',
          tags: ['mfa'],
          params: IdParams,
          answers: {
            200: { description: 'Removed.', json: Ok },
            401: error('No login.'),
            403: stepUpRequired,
            404: error('No such factor of yours (not_found).'),
          },
        },
        handle: (request, { params }) => removeFactor(request, params.id),
      }),
    ),
    sensitive(
      defineRoute({
        method: 'POST',
        path: '/auth/mfa/factors/:id/delete',
        access: live,
        schema: {
          summary: 'Remove one of my factors (HTML form)',
          description:
            'DELETE /auth/mfa/factors/:id for an HTML form, which can only post: a form post answers 303 to /account#security.',
          tags: ['mfa'],
          params: IdParams,
          answers: {
            200: { description: 'Removed (a JSON client).', json: Ok },
            303: redirect('/account#security (a form post)'),
            401: error('No login.'),
            403: stepUpRequired,
            404: error('No such factor of yours (not_found).'),
          },
        },
        handle: (request, { params }) => removeFactor(request, params.id),
      }),
    ),
    sensitive(
      defineRoute({
        method: 'POST',
        path: '/auth/mfa/recovery-codes',
        access: live,
        schema: {
          summary: 'New recovery codes',
          description:
            '10 new single-use codes, answered this once; the old ones stop working. Needs a second factor.',
          tags: ['mfa'],
          answers: {
            200: {
              description: 'The codes. A form post gets a page showing them.',
              media: 'text/html',
              json: Type.Object(
                { recovery_codes: Type.Array(Type.String()) },
                { additionalProperties: false },
              ),
            },
            400: error('No second factor yet (invalid_request).'),
            401: error('No login.'),
            403: stepUpRequired,
          },
        },
        async handle(request) {
          const user = userOf(request);
          const codes = await keycard.mfa.regenerateRecoveryCodes(user.id, actor(request.auth));
          if (request.form) {
            return htmlPage(
              recoveryCodesPage({ csrfToken: request.auth.csrfToken(), username: user.username, codes }),
            );
          }
          return json({ recovery_codes: codes });
        },
      }),
    ),
    defineRoute({
      method: 'POST',
      path: '/auth/mfa/step-up',
      access: live,
      schema: {
        summary: 'Confirm it is me (step-up)',
        description:
          'Renews the proof sensitive actions need, on this login: a code or a passkey for a user with a second factor, the password for one without. Wrong codes count against the user’s second-factor throttle, wrong passwords against the sign-in throttle.',
        tags: ['mfa'],
        body: Type.Object(
          {
            code: Type.Optional(Code),
            passkey: Type.Optional(Passkey),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH })),
            next: Type.Optional(
              Type.String({ maxLength: 512, description: 'A form post: the page to go back to afterwards.' }),
            ),
          },
          NO_PROTO,
        ),
        answers: {
          200: { description: 'Done: sensitive actions are allowed for the step-up window.', json: Ok },
          303: redirect('the page in `next` (a form post); refused, back to /step-up saying why'),
          400: error('Not exactly one of code, passkey or password, or the wrong one for this account.'),
          401: error('The code or password is not right (invalid_code, invalid_credentials), or no login.'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        const { next, ...proof } = body;
        try {
          await keycard.stepUp(request.auth, proof);
        } catch (failure) {
          // The page asks again, saying why by a closed set of codes.
          if (request.form && failure instanceof KeycardError && failure.status < 500) {
            const query = new URLSearchParams({ next: safeReturnPath(next), error: failure.code });
            return { kind: 'redirect', location: `/step-up?${query}` };
          }
          throw failure;
        }
        return request.form ? { kind: 'redirect', location: safeReturnPath(next) } : json({ ok: true });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/login/mfa',
      schema: {
        summary: 'Finish signing in with a second factor',
        description:
          'After POST /auth/login answered 401 mfa_required: the mfa_token it gave and a TOTP code, a recovery code, or a passkey assertion. The token is single use, lasts 5 minutes, and only works for the client that got it; a wrong code does not use it up, five do.',
        tags: ['login'],
        body: Type.Object(
          {
            mfa_token: MfaToken,
            code: Type.Optional(Code),
            passkey: Type.Optional(Passkey),
            remember: Type.Optional(FormBoolean),
          },
          NO_PROTO,
        ),
        answers: {
          200: { description: 'Signed in.', json: LoginAnswer },
          303: redirect('/account; a refused form post goes back to the second step with ?error=CODE'),
          400: error('Not exactly one of code or passkey (invalid_request).'),
          401: {
            ...error(
              'The code is not right (invalid_code), or the sign-in expired, was finished, or is another client’s (token_invalid). A form post with a wrong code gets the second step’s page again.',
            ),
            media: 'text/html',
          },
          403: error('The account was blocked meanwhile (account_blocked), or the request is cross-site.'),
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        const { auth } = request;
        const { remember, ...input } = body;
        let result: Awaited<ReturnType<Keycard['completeSignIn']>>;
        try {
          result = await keycard.completeSignIn(auth, input);
          if (!result.ok) throw result.error;
        } catch (failure) {
          if (!request.form || !(failure instanceof KeycardError) || failure.status >= 500) throw failure;
          // A wrong code leaves the pending sign-in usable: the page asks again. Anything else starts over.
          if (failure.code === 'invalid_code') {
            return {
              kind: 'html',
              status: 401,
              headers: { 'cache-control': 'no-store' },
              body: secondStepPage({
                csrfToken: auth.csrfToken(),
                mfaToken: body.mfa_token,
                factors: ['totp', 'recovery'],
                remember: remember === true || remember === 'true' || remember === 'on',
                passkey: keycard.mfa.passkeys !== null,
                error: failure.code,
              }),
            };
          }
          return { kind: 'redirect', location: `/login?error=${encodeURIComponent(failure.code)}` };
        }
        return request.form
          ? { kind: 'redirect', location: '/account' }
          : json(loginAnswer(auth, result.user, result.login));
      },
    }),
  ];
}

/** The admin's reset of a user's factors (they lost them all): audited, and a sensitive action itself. */
export function adminMfaRoutes(keycard: Keycard): ApiRoute[] {
  const admin: AuthorizeOptions = { roles: ['admin'], live: true };
  const reset = async (request: ApiRequest, id: string): Promise<ApiReply> => {
    const user = await keycard.users.get(id);
    if (!user) throw new KeycardError('not_found', 'no such user');
    const removed = await keycard.mfa.resetFactors(user.id, actor(request.auth));
    return request.form
      ? { kind: 'redirect', location: `/admin/users/${encodeURIComponent(user.id)}?outcome=factors_reset` }
      : json({ ok: true, removed });
  };
  const Removed = Type.Object(
    { ok: Type.Literal(true), removed: Type.Integer() },
    { additionalProperties: false },
  );
  return [
    defineRoute({
      method: 'DELETE',
      path: '/auth/admin/users/:id/factors',
      access: admin,
      schema: {
        summary: 'Remove every second factor of a user',
        description:
          'For a user who lost their factors and recovery codes: they sign in with the password alone, and can enroll again. Audited (mfa_removed, by admin).',
        tags: ['admin'],
        params: IdParams,
        answers: {
          200: { description: 'Removed.', json: Removed },
          401: error('No login.'),
          403: stepUpRequired,
          404: error('No such user (not_found).'),
        },
      },
      handle: (request, { params }) => reset(request, params.id),
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/admin/users/:id/factors/reset',
      access: admin,
      schema: {
        summary: 'Remove every second factor of a user (HTML form)',
        description:
          'DELETE /auth/admin/users/:id/factors for an HTML form, which can only post: a form post answers 303 to the user’s admin page.',
        tags: ['admin'],
        params: IdParams,
        answers: {
          200: { description: 'Removed (a JSON client).', json: Removed },
          303: redirect('/admin/users/:id?outcome=factors_reset (a form post)'),
          401: error('No login.'),
          403: stepUpRequired,
          404: error('No such user (not_found).'),
        },
      },
      handle: (request, { params }) => reset(request, params.id),
    }),
  ];
}
