/**
 * The shapes of the auth API's JSON answers, as TypeBox schemas: what the route schemas (src/api/schema.ts)
 * say each status returns, and what the OpenAPI document publishes. A shape with an `$id` becomes a named
 * component of the document (`#/components/schemas/<id>`).
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { errorStatus } from '../core/errors.js';
import type { Answer } from './schema.js';

const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** keycard's error answer: `{"error": {code, message, field?}}`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Union(Object.keys(errorStatus).map((code) => Type.Literal(code))),
        message: Type.String(),
        field: Type.Optional(Type.String({ description: 'The input field at fault (invalid_request).' })),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'Error', additionalProperties: false },
);

/** RFC 6749 §5.2's error answer, which the token endpoint gives instead of keycard's. */
export const OAuthErrorBody = Type.Object(
  {
    error: Type.Union(
      [
        'invalid_request',
        'invalid_client',
        'invalid_scope',
        'unsupported_grant_type',
        'too_many_requests',
        'temporarily_unavailable',
        'server_error',
      ].map((code) => Type.Literal(code)),
    ),
    error_description: Type.String(),
  },
  { $id: 'OAuthError', additionalProperties: false },
);

/** The signed-in user, as a login answer and `/auth/me` give it. */
export const AuthUser = Type.Object(
  { id: Type.String(), username: Type.String(), role: Type.String() },
  { $id: 'AuthUser', additionalProperties: false },
);

/** A user as the admin API lists it. */
export const PublicUser = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    role: Type.String(),
    blocked: Type.Boolean(),
    email: Type.Union([Type.String(), Type.Null()], { description: 'Normalized; null when none.' }),
    emailVerified: Type.Boolean(),
    createdAt: Timestamp,
  },
  { $id: 'User', additionalProperties: false },
);

/** One login (a session, or a token login) of a user. */
export const PublicSession = Type.Object(
  {
    id: Type.String(),
    current: Type.Boolean({ description: 'True for the login that made this request.' }),
    createdAt: Timestamp,
    lastActiveAt: Timestamp,
    expiresAt: Timestamp,
    absoluteExpiresAt: Timestamp,
    userAgent: Nullable(Type.String()),
    ip: Nullable(Type.String()),
  },
  { $id: 'Session', additionalProperties: false },
);

/** An API client (OAuth 2.0 client credentials), without its secret. */
export const PublicClient = Type.Object(
  {
    client_id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    disabled: Type.Boolean(),
    previous_secret_expires_at: Nullable(Timestamp),
    created_at: Timestamp,
  },
  { $id: 'Client', additionalProperties: false },
);

/**
 * What a login or refresh hands over besides the user and the login: for header transport the tokens in
 * RFC 6749 §5.1's shape; for cookie transport of access tokens, when the one in the cookie expires.
 */
const TokenFields = {
  access_token: Type.Optional(Type.String({ description: 'Header transport only.' })),
  token_type: Type.Optional(Type.Literal('Bearer')),
  expires_in: Type.Optional(
    Type.Integer({
      description: 'Seconds until the access token expires (header or cookie); absent for sessions.',
    }),
  ),
  refresh_token: Type.Optional(Type.String({ description: 'Header transport only.' })),
  refresh_expires_in: Type.Optional(Type.Integer()),
};

export const LoginAnswer = Type.Object(
  {
    user: AuthUser,
    session: PublicSession,
    ...TokenFields,
    csrf_token: Type.Optional(Type.String({ description: 'Cookie transports: send it as X-CSRF-Token.' })),
    mfa_enrollment_required: Type.Optional(
      Type.Literal(true, {
        description:
          'The user’s role needs a second factor and they have none: every sensitive action answers 403 mfa_enrollment_required until they add one (docs/mfa.md).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RefreshAnswer = Type.Object(
  { user: AuthUser, session: PublicSession, ...TokenFields },
  { additionalProperties: false },
);

export const Ok = Type.Object({ ok: Type.Literal(true) }, { additionalProperties: false });

const next = Nullable(Type.String({ description: 'Pass it back for the next page; null on the last one.' }));

export const SessionList = Type.Object(
  { sessions: Type.Array(PublicSession), next },
  { additionalProperties: false },
);
export const UserList = Type.Object({ users: Type.Array(PublicUser), next }, { additionalProperties: false });
export const ClientList = Type.Object(
  { clients: Type.Array(PublicClient), next },
  { additionalProperties: false },
);
export const UserAnswer = Type.Object({ user: PublicUser }, { additionalProperties: false });

const AuditScalar = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

/** One audit record, as the admin API lists it (docs/accounts.md, "Audit log"). */
export const PublicAuditRecord = Type.Object(
  {
    id: Type.String({ description: 'Sorts by time; pass the last one as `before` for the next page.' }),
    at: Timestamp,
    type: Type.String(),
    userId: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    data: Type.Record(Type.String(), Type.Union([AuditScalar, Type.Array(AuditScalar)])),
  },
  { $id: 'AuditRecord', additionalProperties: false },
);
export const AuditList = Type.Object(
  { records: Type.Array(PublicAuditRecord), next },
  { additionalProperties: false },
);
export const ClientAnswer = Type.Object({ client: PublicClient }, { additionalProperties: false });
export const ClientWithSecret = Type.Object(
  {
    client: PublicClient,
    client_secret: Type.String({ description: 'Shown once: keycard keeps only its hash.' }),
  },
  { additionalProperties: false },
);

// Answers several routes give.

export const error = (description: string): Answer => ({ description, json: ErrorBody });

/** A page's form post is answered with a redirect to the next page. */
export const redirect = (to: string): Answer => ({
  description: `An HTML form post: See Other, to ${to}.`,
  redirect: true,
  headers: { location: to },
});

/** Mail-sending routes on a server with no mailer configured. */
export const mailUnavailable: Answer = {
  description: 'No mailer is configured, or the mail server failed (mail_unavailable).',
  json: ErrorBody,
};

export const tooManyRequests: Answer = {
  description: 'Throttled: too many failures; wait as Retry-After says (too_many_requests).',
  json: ErrorBody,
  headers: { 'retry-after': 'Seconds to wait.' },
};

/** A second factor as its user sees it (never its secret). */
export const PublicFactor = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('totp'), Type.Literal('passkey'), Type.Literal('recovery')]),
    name: Type.String(),
    confirmed: Type.Boolean({ description: 'False while a TOTP enrolment waits for its first code.' }),
    created_at: Timestamp,
    last_used_at: Nullable(Timestamp),
    remaining: Type.Optional(Type.Integer({ description: 'Recovery codes: how many are left unused.' })),
  },
  { $id: 'Factor', additionalProperties: false },
);

/** 401 `mfa_required`: the password was right; a second factor finishes the sign-in (docs/mfa.md). */
export const MfaRequiredBody = Type.Object(
  {
    error: ErrorBody.properties.error,
    mfa_token: Type.String({
      description: 'Single use, 5 minutes, for this client only: send it to POST /auth/login/mfa.',
    }),
    factors: Type.Array(
      Type.Union([Type.Literal('totp'), Type.Literal('passkey'), Type.Literal('recovery')]),
    ),
  },
  { $id: 'MfaRequired', additionalProperties: false },
);

/** 403 on a sensitive action: a recent second factor (or password) is needed first. */
export const stepUpRequired: Answer = {
  description:
    'A sensitive action: the login must have shown a second factor (or, without one, the password) within the step-up window (step_up_required), and a role that needs a factor must have one (mfa_enrollment_required). POST /auth/mfa/step-up renews the proof.',
  json: ErrorBody,
};

/** Recovery codes, shown once. */
export const RecoveryCodes = Nullable(
  Type.Array(Type.String(), {
    description: 'Shown this once: keep them somewhere safe. Null when the user already had codes.',
  }),
);
