/**
 * The session-strategy auth API: login, logout, me, and the user's own sessions. Built only on keycard's
 * public API and its Fastify adapter, as an application would build it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Keycard, KeycardError, toAuthUser, tooManyRequests } from 'keycard';
import { requireAuth } from 'keycard/fastify';
import {
  bodyObject,
  idParam,
  isFormPost,
  optionalBoolean,
  optionalString,
  pageQuery,
  respond,
  toPublicSession,
} from '../http.js';
import { loginPage } from '../pages/views.js';

export function registerAuthRoutes(app: FastifyInstance, keycard: Keycard): void {
  app.post('/auth/login', async (request, reply) => {
    const context = request.auth;
    // signIn checks the body itself (400 naming the field), as it does for every app.
    const result = await keycard.signIn(context, request.body);
    if (!result.ok) {
      // 401, 403, or 429 with Retry-After — the same answer whether or not the password was right, so
      // throttling is no oracle.
      const { error } = result;
      reply.headers(error.headers());
      if (isFormPost(request)) {
        return reply
          .code(error.status)
          .type('text/html; charset=utf-8')
          .send(
            loginPage({
              csrfToken: context.csrfToken(),
              error: error.message,
              username: (request.body as { username: string }).username,
            }),
          );
      }
      throw error;
    }
    return respond(request, reply, {
      location: '/account',
      json: {
        user: toAuthUser(result.user),
        session: toPublicSession(result.session, result.session.id),
        // Header transport: the tokens, in OAuth 2.0's token-response shape (RFC 6749 §5.1).
        ...context.tokens,
        // Cookie transports: the CSRF token for the new login (the pre-login one no longer applies).
        ...(context.usesCookies ? { csrf_token: context.csrfToken() } : {}),
      },
    });
  });

  // A CSRF token for single-page apps: send it back as X-CSRF-Token on unsafe requests. Before login it is
  // bound to a pre-login cookie set here; after login, fetch a new one (or use csrf_token from the login).
  app.get('/auth/csrf', async (request) => ({ token: request.auth.csrfToken() }));

  app.post('/auth/refresh', async (request, reply) => {
    const body = request.body === undefined ? {} : bodyObject(request, 'refresh_token');
    const presented = optionalString(body, 'refresh_token', 512);
    // Failed refreshes are counted per client address; over the limit, no token is even looked up.
    const throttle = keycard.throttle;
    const verdict = throttle ? await throttle.checkRefresh(request.ip) : null;
    if (verdict && !verdict.ok) {
      const { scope, retryAfterSeconds } = verdict;
      keycard.emit({
        type: 'throttled',
        action: 'refresh',
        scope,
        retryAfterSeconds,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      throw tooManyRequests('too many failed refresh attempts', retryAfterSeconds);
    }
    const outcome = await request.auth.refresh(presented);
    if (!outcome.ok && outcome.code === 'too_many_requests') {
      // This login refreshed too often: nothing changed, and its tokens stay valid for when it may again.
      keycard.emit({
        type: 'throttled',
        action: 'refresh',
        scope: 'login',
        retryAfterSeconds: outcome.retryAfterSeconds,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      throw tooManyRequests('this login refreshed too often', outcome.retryAfterSeconds);
    }
    if (!outcome.ok) {
      // This request still learns what was wrong with its token; the limit applies to the next ones.
      await throttle?.recordRefreshFailure(request.ip);
      throw outcome.code === 'refresh_token_reused'
        ? new KeycardError(
            'refresh_token_reused',
            'this refresh token was already used; the login has been revoked',
          )
        : new KeycardError('token_invalid', 'the refresh token is invalid, expired or revoked');
    }
    return reply.send({
      user: request.auth.user,
      session: toPublicSession(outcome.login, outcome.login.id),
      ...request.auth.tokens,
    });
  });

  app.post('/auth/logout', async (request, reply) => {
    await request.auth.logout();
    return respond(request, reply, { location: '/login', json: { ok: true } });
  });

  app.get('/auth/me', { preHandler: requireAuth() }, async (request) => {
    const { user, loginId } = request.auth;
    // jwt: the token was verified without the store; the login record is read here, once.
    const login = request.auth.session ?? (loginId ? await keycard.store.getSession(loginId) : null);
    return { user, session: login && toPublicSession(login, login.id) };
  });

  // Forward auth for a reverse proxy (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz): 200 and
  // the user in headers, or 401. It reads only what authentication read — for jwt and hybrid, nothing.
  app.get('/auth/verify', { preHandler: requireAuth() }, async (request, reply) => {
    const user = request.auth.user as { id: string; username: string; role: string };
    return reply
      .header('x-keycard-user-id', user.id)
      .header('x-keycard-username', encodeURIComponent(user.username))
      .header('x-keycard-role', user.role)
      .send({ user });
  });

  // The user's own logins, a page at a time (newest first): `?limit=` (default 50, at most 1000) and the
  // `next` cursor of the previous page as `?cursor=`.
  app.get('/auth/sessions', { preHandler: requireAuth() }, async (request) => {
    const { user, loginId } = request.auth;
    const { limit, cursor } = pageQuery(request.query);
    const page = await keycard.sessions.listPage((user as { id: string }).id, { limit, cursor });
    return { sessions: page.logins.map((record) => toPublicSession(record, loginId)), next: page.next };
  });

  // Ending logins changes state: the caller's own login must still be live (one store read in the jwt
  // and hybrid strategies), so the token of a login that has ended cannot end others.
  const live = { preHandler: requireAuth({ live: true }) };

  const revoke = async (request: FastifyRequest): Promise<boolean> => {
    const id = idParam(request, 'id');
    const { user, loginId } = request.auth;
    if (!user) throw new KeycardError('unauthenticated', 'sign in first');
    if (id === loginId) {
      await request.auth.logout();
      return true;
    }
    const revoked = await keycard.sessions.destroyForUser(user.id, id);
    if (!revoked) throw new KeycardError('not_found', 'no such session');
    keycard.emit({
      type: 'session_revoked',
      userId: user.id,
      sessionId: id,
      by: 'user',
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
    });
    return false;
  };

  app.delete('/auth/sessions/:id', live, async (request, reply) => {
    const wasCurrent = await revoke(request);
    return reply.code(200).send({ ok: true, current: wasCurrent });
  });

  // The same for HTML forms, which cannot send DELETE.
  app.post('/auth/sessions/:id/revoke', live, async (request, reply) => {
    const wasCurrent = await revoke(request);
    return respond(request, reply, {
      location: wasCurrent ? '/login' : '/account',
      json: { ok: true, current: wasCurrent },
    });
  });

  app.post('/auth/logout-all', live, async (request, reply) => {
    const body = request.body === undefined ? {} : bodyObject(request, 'keepCurrent (optional)');
    const keepCurrent = optionalBoolean(body, 'keepCurrent') ?? false;
    const { user, loginId } = request.auth;
    const userId = (user as { id: string }).id;
    const count = await keycard.sessions.destroyAllForUser(userId, {
      exceptId: keepCurrent ? (loginId ?? undefined) : undefined,
    });
    if (!keepCurrent) await request.auth.logout();
    keycard.emit({
      type: 'sessions_revoked',
      userId,
      count,
      reason: 'logout_all',
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
    });
    return respond(request, reply, {
      location: keepCurrent ? '/account' : '/login',
      json: { ok: true, revoked: count },
    });
  });
}
