/** The admin API (role `admin`): list and create users, block and unblock them. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Keycard, KeycardError, toPublicUser } from 'keycard';
import { requireAuth } from 'keycard/fastify';
import { bodyObject, idParam, optionalString, pageQuery, requiredString, respond } from '../http.js';

export interface UserPage {
  users: ReturnType<typeof toPublicUser>[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export async function listUsersPage(keycard: Keycard, query: unknown): Promise<UserPage> {
  const { limit, cursor: after } = pageQuery(query, 'after');
  const users = await keycard.users.list({ limit: limit + 1, after });
  const page = users.slice(0, limit);
  return {
    users: page.map(toPublicUser),
    next: users.length > limit ? (page[page.length - 1]?.username ?? null) : null,
  };
}

export function registerAdminRoutes(app: FastifyInstance, keycard: Keycard): void {
  // Every admin route confirms the login is live (one store read in the jwt and hybrid strategies), reads
  // included: a blocked or demoted admin's unexpired access token can neither act nor look.
  const admin = { preHandler: requireAuth({ roles: ['admin'], live: true }) };
  const context = (request: FastifyRequest) => ({
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
  });

  app.get('/auth/admin/users', admin, async (request) => listUsersPage(keycard, request.query));

  app.post('/auth/admin/users', admin, async (request, reply) => {
    const body = bodyObject(request, 'username, password and role');
    const user = await keycard.users.create(
      {
        username: requiredString(body, 'username', 256),
        password: requiredString(body, 'password', 4096),
        role: optionalString(body, 'role', 32),
      },
      context(request),
    );
    return respond(request, reply, { status: 201, location: '/admin', json: { user: toPublicUser(user) } });
  });

  const setBlocked =
    (blocked: boolean) => async (request: FastifyRequest, reply: import('fastify').FastifyReply) => {
      const id = idParam(request, 'id');
      if (blocked && id === request.auth.user?.id) {
        throw new KeycardError('invalid_request', 'you cannot block your own account', { field: 'id' });
      }
      const user = blocked
        ? await keycard.users.block(id, context(request))
        : await keycard.users.unblock(id, context(request));
      return respond(request, reply, { location: '/admin', json: { user: toPublicUser(user) } });
    };

  app.post('/auth/admin/users/:id/block', admin, setBlocked(true));
  app.post('/auth/admin/users/:id/unblock', admin, setBlocked(false));
}
