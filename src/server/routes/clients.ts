/**
 * API clients: the OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749 §4.4), and the
 * admin API that manages clients. The token endpoint answers errors in RFC 6749 §5.2's shape
 * (`{"error": "invalid_client", "error_description": …}`), which OAuth client libraries expect, rather
 * than keycard's own.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ClientService,
  type Duration,
  isKeycardError,
  type Keycard,
  KeycardError,
  toPublicClient,
} from 'keycard';
import { requireAuth } from 'keycard/fastify';
import { bodyObject, optionalString, pageQuery, requiredString } from '../http.js';

type OAuthError =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error';

function oauthError(
  reply: FastifyReply,
  status: number,
  error: OAuthError,
  description: string,
): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send({ error, error_description: description });
}

/** RFC 6749 §2.3.1: client_id and client_secret are form-urlencoded, then joined and base64-encoded. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null | 'malformed' {
  if (header === undefined) return null;
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!match) return 'malformed';
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return 'malformed';
  try {
    const decode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

async function tokenEndpoint(
  keycard: Keycard,
  clients: ClientService,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object') return oauthError(reply, 400, 'invalid_request', 'send a form body');
  const grant = body.grant_type;
  if (grant === undefined) return oauthError(reply, 400, 'invalid_request', 'grant_type is required');
  if (grant !== 'client_credentials') {
    return oauthError(
      reply,
      400,
      'unsupported_grant_type',
      'only grant_type=client_credentials is supported',
    );
  }
  const basic = basicCredentials(request.headers.authorization);
  const inBody = body.client_id !== undefined || body.client_secret !== undefined;
  if (basic === 'malformed')
    return oauthError(reply, 400, 'invalid_request', 'the Authorization header is not HTTP Basic');
  if (basic && inBody) {
    return oauthError(reply, 400, 'invalid_request', 'authenticate with HTTP Basic or form fields, not both');
  }
  const clientId = basic ? basic.id : body.client_id;
  const secret = basic ? basic.secret : body.client_secret;
  const scope = body.scope;
  if (scope !== undefined && typeof scope !== 'string')
    return oauthError(reply, 400, 'invalid_request', 'scope must be a string');
  const throttleKey = `client:${typeof clientId === 'string' ? clientId.slice(0, 64) : ''}`;
  const throttle = keycard.throttle;
  // Counted before the secret is checked, like a password login, so simultaneous guesses each count.
  const reservation = throttle ? await throttle.reserveLogin(throttleKey, request.ip) : null;
  if (reservation && !reservation.ok) {
    reply.header('retry-after', String(reservation.retryAfterSeconds));
    return oauthError(
      reply,
      429,
      'too_many_requests',
      'too many failed client authentications; wait and retry',
    );
  }
  const ticket = reservation?.ticket ?? null;
  const auth = await clients.authenticate(clientId, secret);
  if (!auth.ok) {
    if (throttle && ticket) await throttle.recordLoginFailure(ticket);
    // RFC 6749 §5.2: 401, with a challenge in the scheme the client used (Basic, or Basic as the default).
    reply.header('www-authenticate', 'Basic realm="keycard", charset="UTF-8"');
    return oauthError(reply, 401, 'invalid_client', 'client authentication failed');
  }
  if (throttle && ticket) await throttle.recordLoginSuccess(ticket);
  const issued = clients.issueToken(auth, scope as string | undefined);
  if (!issued.ok) return oauthError(reply, 400, issued.error, issued.description);
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send({
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
  });
}

/** Errors on the token endpoint in RFC 6749's shape (store down → 503 temporarily_unavailable). */
function tokenErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isKeycardError(error)) {
    if (error.code === 'store_unavailable')
      return oauthError(reply, 503, 'temporarily_unavailable', 'try again shortly');
    if (error.status < 500)
      return oauthError(reply, error.status === 415 ? 415 : 400, 'invalid_request', error.message);
  }
  const status = error.statusCode ?? 500;
  if (status === 413) return oauthError(reply, 413, 'invalid_request', 'the request body is too large');
  if (status >= 400 && status < 500)
    return oauthError(reply, status, 'invalid_request', 'the request is malformed');
  return oauthError(reply, 500, 'server_error', 'something went wrong');
}

export function registerClientRoutes(app: FastifyInstance, keycard: Keycard): void {
  const clients = keycard.clients;
  // The token endpoint exists when there is a key to sign with (the key file has one in development).
  if (clients.canIssue) {
    app.post('/auth/token', { errorHandler: tokenErrorHandler }, (request, reply) =>
      tokenEndpoint(keycard, clients, request, reply),
    );
  }

  // As the user admin routes: the admin's login must be live, for reads too.
  const admin = { preHandler: requireAuth({ roles: ['admin'], live: true }) };
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
  // Where the change came from, in its audit event.
  const from = (request: FastifyRequest) => ({
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
  });

  // A page at a time, by client id: `?limit=` (default 50, at most 1000) and `?after=` the `next` of the
  // previous page.
  app.get('/auth/admin/clients', admin, async (request) => {
    const { limit, cursor: after } = pageQuery(request.query, 'after');
    await clients.finalizeRotations();
    const listed = await clients.list({ limit: limit + 1, after });
    const page = listed.slice(0, limit);
    return {
      clients: page.map(toPublicClient),
      next: listed.length > limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  });

  app.post('/auth/admin/clients', admin, async (request, reply) => {
    const body = bodyObject(request, 'name and scopes');
    const { client, secret } = await clients.create(
      { name: requiredString(body, 'name', 100), scopes: body.scopes as string[] },
      from(request),
    );
    return reply.code(201).send({ client: toPublicClient(client), client_secret: secret });
  });

  app.post('/auth/admin/clients/:id/rotate-secret', admin, async (request) => {
    const body = request.body === undefined ? {} : bodyObject(request, 'overlap (optional)');
    const overlap = optionalString(body, 'overlap', 16);
    if (overlap !== undefined && !/^[1-9][0-9]{0,8}[smhd]$/.test(overlap)) {
      throw new KeycardError('invalid_request', "overlap must be a duration such as '1h' or '30m'", {
        field: 'overlap',
      });
    }
    const { client, secret } = await clients.rotateSecret(
      idOf(request),
      { overlap: overlap as Duration | undefined },
      from(request),
    );
    return { client: toPublicClient(client), client_secret: secret };
  });

  app.post('/auth/admin/clients/:id/disable', admin, async (request) => ({
    client: toPublicClient(await clients.disable(idOf(request), from(request))),
  }));
  app.post('/auth/admin/clients/:id/enable', admin, async (request) => ({
    client: toPublicClient(await clients.enable(idOf(request), from(request))),
  }));
  app.delete('/auth/admin/clients/:id', admin, async (request) => {
    if (!(await clients.remove(idOf(request), from(request))))
      throw new KeycardError('not_found', 'no such client');
    return { ok: true };
  });
}
