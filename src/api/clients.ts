/**
 * API clients in the route table: the OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749
 * §4.4), and the admin API that manages clients. The token endpoint answers errors in RFC 6749 §5.2's
 * shape (`{"error": "invalid_client", "error_description": …}`), which OAuth client libraries expect,
 * rather than keycard's own — its `fail` turns any refusal, body errors included, into that shape.
 */
import { type AuthorizeOptions, type Duration, type Keycard, KeycardError, toPublicClient } from 'keycard';
import { bodyObject, optionalString, pageQuery, requiredString } from './input.js';
import type { ApiReply, ApiRoute } from './routes.js';

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
  const id = (params: Readonly<Record<string, string | undefined>>) => params.id as string;
  const json = (body: unknown, status = 200): ApiReply => ({ kind: 'json', status, body });

  const routes: ApiRoute[] = [];
  // The token endpoint exists when there is a key to sign with (the key file has one in development).
  if (clients.canIssue) {
    routes.push({
      method: 'POST',
      path: '/auth/token',
      fail: tokenFailure,
      async handle(request) {
        const body = (request.body ?? {}) as Record<string, unknown>;
        if (typeof body !== 'object') return oauthError(400, 'invalid_request', 'send a form body');
        const grant = body.grant_type;
        if (grant === undefined) return oauthError(400, 'invalid_request', 'grant_type is required');
        if (grant !== 'client_credentials') {
          return oauthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
        }
        const basic = basicCredentials(request.auth.request.header('authorization'));
        const inBody = body.client_id !== undefined || body.client_secret !== undefined;
        if (basic === 'malformed')
          return oauthError(400, 'invalid_request', 'the Authorization header is not HTTP Basic');
        if (basic && inBody) {
          return oauthError(400, 'invalid_request', 'authenticate with HTTP Basic or form fields, not both');
        }
        const clientId = basic ? basic.id : body.client_id;
        const secret = basic ? basic.secret : body.client_secret;
        const scope = body.scope;
        if (scope !== undefined && typeof scope !== 'string')
          return oauthError(400, 'invalid_request', 'scope must be a string');
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
        const issued = clients.issueToken(auth, scope as string | undefined);
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
    });
  }

  routes.push(
    {
      // A page at a time, by client id: `?limit=` (default 50, at most 1000) and `?after=` the `next` of
      // the previous page.
      method: 'GET',
      path: '/auth/admin/clients',
      access: admin,
      async handle(request) {
        const { limit, cursor: after } = pageQuery(request.query, 'after');
        await clients.finalizeRotations();
        const listed = await clients.list({ limit: limit + 1, after });
        const page = listed.slice(0, limit);
        return json({
          clients: page.map(toPublicClient),
          next: listed.length > limit ? (page[page.length - 1]?.id ?? null) : null,
        });
      },
    },
    {
      method: 'POST',
      path: '/auth/admin/clients',
      access: admin,
      async handle(request) {
        const body = bodyObject(request.body, 'name and scopes');
        const { client, secret } = await clients.create(
          { name: requiredString(body, 'name', 100), scopes: body.scopes as string[] },
          from(request),
        );
        return json({ client: toPublicClient(client), client_secret: secret }, 201);
      },
    },
    {
      method: 'POST',
      path: '/auth/admin/clients/:id/rotate-secret',
      access: admin,
      async handle(request) {
        const body = request.body === undefined ? {} : bodyObject(request.body, 'overlap (optional)');
        const overlap = optionalString(body, 'overlap', 16);
        if (overlap !== undefined && !/^[1-9][0-9]{0,8}[smhd]$/.test(overlap)) {
          throw new KeycardError('invalid_request', "overlap must be a duration such as '1h' or '30m'", {
            field: 'overlap',
          });
        }
        const { client, secret } = await clients.rotateSecret(
          id(request.params),
          { overlap: overlap as Duration | undefined },
          from(request),
        );
        return json({ client: toPublicClient(client), client_secret: secret });
      },
    },
    {
      method: 'POST',
      path: '/auth/admin/clients/:id/disable',
      access: admin,
      handle: async (request) =>
        json({ client: toPublicClient(await clients.disable(id(request.params), from(request))) }),
    },
    {
      method: 'POST',
      path: '/auth/admin/clients/:id/enable',
      access: admin,
      handle: async (request) =>
        json({ client: toPublicClient(await clients.enable(id(request.params), from(request))) }),
    },
    {
      method: 'DELETE',
      path: '/auth/admin/clients/:id',
      access: admin,
      async handle(request) {
        if (!(await clients.remove(id(request.params), from(request)))) {
          throw new KeycardError('not_found', 'no such client');
        }
        return json({ ok: true });
      },
    },
  );
  return routes;
}
