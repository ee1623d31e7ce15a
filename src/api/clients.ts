/**
 * API clients in the route table: the OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749
 * §4.4), and the admin API that manages clients. The token endpoint answers errors in RFC 6749 §5.2's
 * shape (`{"error": "invalid_client", "error_description": …}`), which OAuth client libraries expect,
 * rather than keycard's own — its `fail` turns any refusal, body errors included, into that shape.
 */
import { Type } from '@sinclair/typebox';
import { type AuthorizeOptions, type Duration, type Keycard, KeycardError, toPublicClient } from 'keycard';
import { withStepUp } from './mfa-routes.js';
import { type ApiReply, type ApiRoute, defineRoute } from './route.js';
import { AfterPageQuery, NO_PROTO, pageLimit } from './schema.js';
import {
  ClientAnswer,
  ClientList,
  ClientWithSecret,
  error,
  OAuthErrorBody,
  Ok,
  tooManyRequests,
} from './shapes.js';

type OAuthError =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function oauthError(
  status: number,
  error: OAuthError,
  description: string,
  headers: Record<string, string> = {},
): ApiReply {
  return {
    kind: 'json',
    status,
    body: { error, error_description: description },
    headers: { ...NO_STORE, ...headers },
  };
}

/** Base64 to UTF-8 without Buffer (this runs on Workers and Deno too); null when it is not base64. */
function decodeBase64(text: string): string | null {
  try {
    const binary = atob(text);
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** RFC 6749 §2.3.1: client_id and client_secret are form-urlencoded, then joined and base64-encoded. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null | 'malformed' {
  if (header === undefined) return null;
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!match) return 'malformed';
  const decoded = decodeBase64(match[1] as string);
  if (decoded === null) return 'malformed';
  const colon = decoded.indexOf(':');
  if (colon === -1) return 'malformed';
  try {
    const decode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

/** A refusal on the token endpoint in RFC 6749's shape (store down → 503 temporarily_unavailable). */
function tokenFailure(error: KeycardError): ApiReply {
  if (error.code === 'store_unavailable')
    return oauthError(503, 'temporarily_unavailable', 'try again shortly');
  if (error.code === 'payload_too_large')
    return oauthError(413, 'invalid_request', 'the request body is too large');
  if (error.status < 500)
    return oauthError(error.status === 415 ? 415 : 400, 'invalid_request', error.message);
  return oauthError(500, 'server_error', 'something went wrong');
}

/** The token endpoint's form: RFC 6749 §4.4.2, with the client's credentials here or in HTTP Basic (§2.3.1). */
const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 64, description: 'client_credentials' }),
    client_id: Type.Optional(Type.String({ maxLength: 256, description: 'Or HTTP Basic, not both.' })),
    client_secret: Type.Optional(Type.String({ maxLength: 256 })),
    scope: Type.Optional(
      Type.String({ maxLength: 4096, description: "Space-separated, within the client's scopes." }),
    ),
  },
  NO_PROTO,
);

const oauthAnswer = (description: string) => ({ description, json: OAuthErrorBody });

/** A client id in the path: keycard's own check (core) answers 404 for one that cannot exist. */
const ClientParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export function clientRoutes(keycard: Keycard): ApiRoute[] {
  const clients = keycard.clients;
  // As the user admin routes: the admin's login must be live, for reads too.
  const admin: AuthorizeOptions = { roles: ['admin'], live: true };
  const from = (request: {
    auth: { request: { ip: string | null; header(name: string): string | undefined } };
  }) => ({
    ip: request.auth.request.ip,
    userAgent: request.auth.request.header('user-agent') ?? null,
  });
  const json = (body: unknown, status = 200): ApiReply => ({ kind: 'json', status, body });
  const noClient = error('No such client (not_found).');

  const routes: ApiRoute[] = [];
  // The token endpoint exists when there is a key to sign with (the key file has one in development).
  if (clients.canIssue) {
    routes.push(
      defineRoute({
        method: 'POST',
        path: '/auth/token',
        fail: tokenFailure,
        schema: {
          summary: 'An access token for an API client',
          description:
            "OAuth 2.0 client credentials (RFC 6749 §4.4). Errors are in RFC 6749 §5.2's shape, not keycard's.",
          tags: ['clients'],
          body: TokenRequest,
          bodyOptional: true,
          clientAuthentication: true,
          errors: OAuthErrorBody,
          answers: {
            200: {
              description: 'The token (RFC 6749 §5.1).',
              json: Type.Object(
                {
                  access_token: Type.String(),
                  token_type: Type.Literal('Bearer'),
                  expires_in: Type.Integer(),
                  scope: Type.String(),
                },
                { additionalProperties: false },
              ),
            },
            400: oauthAnswer(
              'invalid_request (malformed), unsupported_grant_type, or invalid_scope (outside the client’s scopes).',
            ),
            401: {
              ...oauthAnswer('Client authentication failed (invalid_client).'),
              headers: { 'www-authenticate': 'Basic realm="keycard"' },
            },
            429: { ...oauthAnswer(tooManyRequests.description), headers: tooManyRequests.headers },
          },
        },
        async handle(request, { body }) {
          const grant = body.grant_type;
          if (grant !== 'client_credentials') {
            return oauthError(
              400,
              'unsupported_grant_type',
              'only grant_type=client_credentials is supported',
            );
          }
          const basic = basicCredentials(request.auth.request.header('authorization'));
          const inBody = body.client_id !== undefined || body.client_secret !== undefined;
          if (basic === 'malformed')
            return oauthError(400, 'invalid_request', 'the Authorization header is not HTTP Basic');
          if (basic && inBody) {
            return oauthError(
              400,
              'invalid_request',
              'authenticate with HTTP Basic or form fields, not both',
            );
          }
          const clientId = basic ? basic.id : body.client_id;
          const secret = basic ? basic.secret : body.client_secret;
          const throttleKey = `client:${typeof clientId === 'string' ? clientId.slice(0, 64) : ''}`;
          const throttle = keycard.throttle;
          const ip = request.auth.request.ip;
          // Counted before the secret is checked, like a password login, so simultaneous guesses each count.
          const reservation = throttle ? await throttle.reserveLogin(throttleKey, ip) : null;
          if (reservation && !reservation.ok) {
            return oauthError(
              429,
              'too_many_requests',
              'too many failed client authentications; wait and retry',
              {
                'retry-after': String(reservation.retryAfterSeconds),
              },
            );
          }
          const ticket = reservation?.ticket ?? null;
          const auth = await clients.authenticate(clientId, secret);
          if (!auth.ok) {
            if (throttle && ticket) await throttle.recordLoginFailure(ticket);
            // RFC 6749 §5.2: 401, with a challenge in the scheme the client used (Basic, or Basic as the default).
            return oauthError(401, 'invalid_client', 'client authentication failed', {
              'www-authenticate': 'Basic realm="keycard", charset="UTF-8"',
            });
          }
          if (throttle && ticket) await throttle.recordLoginSuccess(ticket);
          const issued = clients.issueToken(auth, body.scope);
          if (!issued.ok) return oauthError(400, issued.error, issued.description);
          return {
            kind: 'json',
            status: 200,
            headers: NO_STORE,
            body: {
              access_token: issued.accessToken,
              token_type: 'Bearer',
              expires_in: issued.expiresIn,
              scope: issued.scope,
            },
          };
        },
      }),
    );
  }

  routes.push(
    defineRoute({
      method: 'GET',
      path: '/auth/admin/clients',
      access: admin,
      schema: {
        summary: 'List API clients',
        description:
          'By client id, a page at a time: `limit` and the `next` of the previous page as `after`.',
        tags: ['admin', 'clients'],
        query: AfterPageQuery,
        answers: { 200: { description: 'A page of clients.', json: ClientList } },
      },
      async handle(_request, { query }) {
        const limit = pageLimit(query);
        await clients.finalizeRotations();
        const listed = await clients.list({ limit: limit + 1, after: query.after });
        const page = listed.slice(0, limit);
        return json({
          clients: page.map(toPublicClient),
          next: listed.length > limit ? (page[page.length - 1]?.id ?? null) : null,
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/admin/clients',
      access: admin,
      schema: {
        summary: 'Create an API client',
        tags: ['admin', 'clients'],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            // Each scope's grammar and the count are core's (checkScopes), which names the problem.
            scopes: Type.Array(Type.String(), {
              minItems: 1,
              description: 'At most 50, each 1–64 printable characters without spaces, " or \\.',
              errorMessage: 'scopes must be a non-empty list such as ["orders:read"]',
            }),
          },
          NO_PROTO,
        ),
        answers: { 201: { description: 'Created; the secret is shown once.', json: ClientWithSecret } },
      },
      async handle(request, { body }) {
        const { client, secret } = await clients.create(
          { name: body.name, scopes: body.scopes },
          from(request),
        );
        return json({ client: toPublicClient(client), client_secret: secret }, 201);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/admin/clients/:id/rotate-secret',
      access: admin,
      schema: {
        summary: "Rotate a client's secret",
        description: 'The old secret keeps working for `overlap` (default 1h).',
        tags: ['admin', 'clients'],
        params: ClientParams,
        body: Type.Object(
          {
            overlap: Type.Optional(
              Type.String({
                pattern: '^[1-9][0-9]{0,8}[smhd]$',
                description: "A duration such as '1h' or '30m'.",
                errorMessage: "overlap must be a duration such as '1h' or '30m'",
              }),
            ),
          },
          NO_PROTO,
        ),
        bodyOptional: true,
        answers: {
          200: { description: 'The new secret, shown once.', json: ClientWithSecret },
          404: noClient,
        },
      },
      async handle(request, { params, body }) {
        const { client, secret } = await clients.rotateSecret(
          params.id,
          { overlap: body.overlap as Duration | undefined },
          from(request),
        );
        return json({ client: toPublicClient(client), client_secret: secret });
      },
    }),
    ...(['disable', 'enable'] as const).map((action) =>
      defineRoute({
        method: 'POST',
        path: `/auth/admin/clients/:id/${action}`,
        access: admin,
        schema: {
          summary: action === 'disable' ? 'Disable a client' : 'Enable a client',
          description: action === 'disable' ? 'Its tokens are revoked at once.' : undefined,
          tags: ['admin', 'clients'],
          params: ClientParams,
          answers: { 200: { description: 'Done.', json: ClientAnswer }, 404: noClient },
        },
        handle: async (request, { params }) =>
          json({ client: toPublicClient(await clients[action](params.id, from(request))) }),
      }),
    ),
    defineRoute({
      method: 'DELETE',
      path: '/auth/admin/clients/:id',
      access: admin,
      schema: {
        summary: 'Remove a client',
        tags: ['admin', 'clients'],
        params: ClientParams,
        answers: { 200: { description: 'Removed.', json: Ok }, 404: noClient },
      },
      async handle(request, { params }) {
        if (!(await clients.remove(params.id, from(request)))) {
          throw new KeycardError('not_found', 'no such client');
        }
        return json({ ok: true });
      },
    }),
  );
  // Changing a client is an admin action: a sensitive one, as the user admin routes are (docs/mfa.md).
  return routes.map((route) =>
    route.method !== 'GET' && route.path.startsWith('/auth/admin/') ? withStepUp(keycard, route) : route,
  );
}
