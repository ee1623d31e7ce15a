/** The HTML pages: sign in, my account (sessions), user admin. Forms post to the JSON API's routes. */
import type { FastifyInstance } from 'fastify';
import type { Keycard } from 'keycard';
import { STYLESHEET } from '../../api/pages/style.js';
import {
  accountPage,
  adminPage,
  errorPage,
  type FirstAdminNotice,
  loginPage,
  tokenOnlyPage,
} from '../../api/pages/views.js';
import { listUsersPage } from '../../api/routes.js';
import { pageQuery } from '../http.js';

export interface PageOptions {
  /** What the sign-in page says while there are no users yet. */
  firstAdmin: FirstAdminNotice;
}

export function registerPageRoutes(app: FastifyInstance, keycard: Keycard, options: PageOptions): void {
  const html = 'text/html; charset=utf-8';

  app.get('/', async (request, reply) => reply.redirect(request.auth.user ? '/account' : '/login', 303));

  app.get('/login', async (request, reply) => {
    if (keycard.options.jwt?.transport === 'header') {
      // Pages sign in with cookies; a header-transport server hands tokens to API clients instead.
      return reply.type(html).send(tokenOnlyPage());
    }
    if (request.auth.user) return reply.redirect('/account', 303);
    const noUsers = (await keycard.users.count()) === 0;
    return reply.type(html).send(
      loginPage({
        csrfToken: request.auth.csrfToken(),
        firstAdmin: noUsers ? options.firstAdmin : null,
      }),
    );
  });

  app.get('/account', async (request, reply) => {
    const { user, loginId } = request.auth;
    if (!user || !loginId) return reply.redirect('/login', 303);
    const { limit, cursor } = pageQuery(request.query);
    const page = await keycard.logins.listPage(user.id, { limit, cursor });
    return reply.type(html).send(
      accountPage({
        csrfToken: request.auth.csrfToken(),
        user,
        sessions: page.logins,
        next: page.next,
        currentSessionId: loginId,
        now: keycard.options.clock.now(),
      }),
    );
  });

  app.get('/admin', async (request, reply) => {
    const { user } = request.auth;
    if (!user) return reply.redirect('/login', 303);
    if (user.role !== 'admin') {
      return reply
        .code(403)
        .type(html)
        .send(errorPage(403, 'This page is for administrators.', user.username, request.auth.csrfToken()));
    }
    const page = await listUsersPage(keycard, request.query);
    return reply.type(html).send(
      adminPage({
        csrfToken: request.auth.csrfToken(),
        user,
        users: page.users,
        next: page.next,
        roles: keycard.options.roles,
      }),
    );
  });
}

export function registerAssetRoutes(app: FastifyInstance): void {
  app.get('/assets/keycard.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
