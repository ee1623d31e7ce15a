/**
 * The passkey routes (docs/mfa.md): adding a passkey to one's account, the options a browser needs for a
 * ceremony, and a passwordless sign-in. The WebAuthn work is `keycard.mfa.passkeys`' (core/mfa/passkeys.ts);
 * these routes read the body, apply the request's guards, and answer JSON — a ceremony runs in a script
 * (`navigator.credentials`), never from a plain form. On a server without passkeys configured every one
 * of them answers 404 `not_found`, as a route that does not exist would.
 */
import { Type } from '@sinclair/typebox';
import { type AuthContext, type Keycard, KeycardError } from 'keycard';
import type { PasskeyService } from '../core/mfa/passkeys.js';
import { loginAnswer } from './login-answer.js';
import { type ApiReply, type ApiRoute, defineRoute } from './route.js';
import { NO_PROTO } from './schema.js';
import { error, LoginAnswer, tooManyRequests } from './shapes.js';

function json(body: unknown, status = 200): ApiReply {
  return { kind: 'json', status, body };
}

function context(auth: AuthContext): { ip: string | null; userAgent: string | null } {
  return { ip: auth.request.ip, userAgent: auth.request.header('user-agent') ?? null };
}

/** A browser's credential response (`startRegistration` / `startAuthentication`'s result), as it came. */
const CredentialResponse = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 1024 }),
    rawId: Type.String({ minLength: 1, maxLength: 1024 }),
    type: Type.Literal('public-key'),
    response: Type.Object({ clientDataJSON: Type.String({ maxLength: 16_384 }) }),
  },
  { description: "The browser's WebAuthn response, as @simplewebauthn/browser returns it." },
);

const Options = Type.Object(
  {
    options: Type.Object(
      { challenge: Type.String() },
      {
        description:
          'PublicKeyCredentialCreationOptionsJSON (registration) or PublicKeyCredentialRequestOptionsJSON (sign-in): pass to startRegistration / startAuthentication.',
      },
    ),
  },
  { additionalProperties: false },
);

const Factor = Type.Object({
  id: Type.String(),
  kind: Type.Literal('passkey'),
  name: Type.String(),
  confirmed: Type.Boolean(),
  createdAt: Type.Integer(),
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()]),
});

const notConfigured = error('Passkeys are not configured on this server (not_found).');
const guarded = error(
  'A request from another site (cross_site_request), or a browser request without its pre-login CSRF token (csrf_rejected).',
);

export function passkeyRoutes(keycard: Keycard): ApiRoute[] {
  const passkeys = (): PasskeyService => {
    const service = keycard.mfa.passkeys;
    if (!service) throw new KeycardError('not_found', 'passkeys are not configured on this server');
    return service;
  };
  const live = { live: true };

  return [
    defineRoute({
      method: 'POST',
      path: '/auth/mfa/passkeys/options',
      access: live,
      schema: {
        summary: 'Start adding a passkey',
        description:
          'Options for startRegistration, with a single-use challenge (5 minutes) bound to the signed-in user. A sensitive action: needs a recent step-up.',
        tags: ['mfa'],
        answers: {
          200: { description: 'The registration options.', json: Options },
          403: error(
            'No recent proof (step_up_required), or a factor the role needs is missing (mfa_enrollment_required).',
          ),
          404: notConfigured,
        },
      },
      async handle(request) {
        const service = passkeys();
        await keycard.requireStepUp(request.auth, { enrolling: true });
        const user = request.auth.user;
        if (!user) throw new KeycardError('unauthenticated', 'sign in first');
        return json({ options: await service.registrationOptions(user) });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/mfa/passkeys',
      access: live,
      schema: {
        summary: 'Add a passkey',
        description:
          "Verifies the browser's registration response for a challenge from POST /auth/mfa/passkeys/options and stores the passkey (its public key only). The first second factor also gets 10 recovery codes, shown once.",
        tags: ['mfa'],
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ maxLength: 256, description: "Default 'Passkey'." })),
            response: CredentialResponse,
          },
          NO_PROTO,
        ),
        answers: {
          201: {
            description: 'Added.',
            json: Type.Object(
              {
                factor: Factor,
                recovery_codes: Type.Union([Type.Array(Type.String()), Type.Null()], {
                  description: 'The first second factor: the recovery codes, shown only now.',
                }),
              },
              { additionalProperties: false },
            ),
          },
          401: error(
            'The response does not answer a live challenge of this user, or does not verify (invalid_code).',
          ),
          403: error(
            'No recent proof (step_up_required), or a factor the role needs is missing (mfa_enrollment_required).',
          ),
          404: notConfigured,
        },
      },
      async handle(request, { body }) {
        passkeys(); // 404 before anything else when passkeys are off
        const { auth } = request;
        await keycard.requireStepUp(auth, { enrolling: true });
        const added = await keycard.registerPasskey(auth, body.response, body.name);
        return json({ factor: added.factor, recovery_codes: added.recoveryCodes }, 201);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/passkey/options',
      schema: {
        summary: 'Start a passkey sign-in',
        description:
          "Options for startAuthentication, with a single-use challenge (5 minutes). With `mfa_token` (a sign-in that answered mfa_required): for that user's passkeys, to finish it with POST /auth/login/mfa. With `step_up: true`, signed in: for the user's passkeys, to step up with POST /auth/mfa/step-up. Neither: for any passkey, to sign in without a password with POST /auth/login/passkey.",
        tags: ['login'],
        body: Type.Object(
          {
            mfa_token: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
            step_up: Type.Optional(
              Type.Boolean({ description: "Signed in: options for the user's own passkeys." }),
            ),
          },
          NO_PROTO,
        ),
        bodyOptional: true,
        answers: {
          200: { description: 'The sign-in options.', json: Options },
          401: error(
            'The pending sign-in has expired, was finished, or is not this client’s (token_invalid); step_up without a login (unauthenticated).',
          ),
          403: guarded,
          404: notConfigured,
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        const service = passkeys();
        const { auth } = request;
        if (body.step_up === true) {
          // The host has checked this login's CSRF token; the challenge is bound to its user.
          await auth.confirmLive();
          if (!auth.user) throw new KeycardError('unauthenticated', 'sign in first');
          return json({ options: await service.authenticationOptions(auth.user.id) });
        }
        auth.guardLogin();
        if (body.mfa_token === undefined) {
          // Anonymous, and it stores a challenge: counted per client address.
          await keycard.mfa.countPasswordless(auth.request.ip);
          return json({ options: await service.authenticationOptions(null) });
        }
        const pending = await keycard.mfa.readPending(body.mfa_token, context(auth));
        return json({ options: await service.authenticationOptions(pending.userId) });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/login/passkey',
      schema: {
        summary: 'Sign in with a passkey',
        description:
          'A passwordless sign-in: the assertion must answer a challenge from POST /auth/passkey/options without mfa_token, and the passkey must have verified its user (PIN, biometrics). Answers as POST /auth/login does.',
        tags: ['login'],
        body: Type.Object(
          {
            response: CredentialResponse,
            remember: Type.Optional(Type.Boolean({ description: 'Default true: persistent cookies.' })),
          },
          NO_PROTO,
        ),
        answers: {
          200: { description: 'Signed in.', json: LoginAnswer },
          401: error(
            'The response does not answer a live passwordless challenge, names no passkey, or does not verify (invalid_code).',
          ),
          403: error('The account is blocked (account_blocked), or the request is cross-site.'),
          404: notConfigured,
          429: tooManyRequests,
        },
      },
      async handle(request, { body }) {
        passkeys();
        const { auth } = request;
        const result = await keycard.signInWithPasskey(auth, body);
        if (!result.ok) throw result.error;
        return json(loginAnswer(auth, result.user, result.login));
      },
    }),
  ];
}
