/**
 * A Hono app with keycard, the session strategy (`web-app` preset): the whole auth API under /auth/
 * (login, logout, me, sessions, CSRF, admin — as `keycard serve` answers it), a page only signed-in users
 * see with a visit counter kept in the session, and a page only admins see.
 *
 * Everything is imported from keycard's public entry points, as an application would.
 */
import { type Context, Hono } from 'hono';
import { createKeycard, type Keycard, KeycardError, type Store } from 'keycard';
import { errorResponse } from 'keycard/fetch';
import { type KeycardEnv, keycardErrors, keycardHono, requireAuth, requireRole } from 'keycard/hono';

export interface ExampleOptions {
  /** Where users and sessions live (the server opens `sqlite:./example.db`). */
  store: Store;
  /** The client's address for throttling and the session list: the host's connection info. */
  clientAddress?: (c: Context) => string | null | undefined;
}

export function createApp(options: ExampleOptions): { app: Hono<KeycardEnv>; keycard: Keycard } {
  const keycard = createKeycard({ store: options.store, preset: 'web-app' });
  const app = new Hono<KeycardEnv>();

  // Answers /auth/* itself; for every other request it loads the session cookie (one store read), refuses
  // cross-site or CSRF-less unsafe requests that carry it, and sets c.get('auth').
  app.use(keycardHono(keycard, { clientAddress: options.clientAddress }));

  app.get('/api/profile', requireAuth(), (c) => {
    const auth = c.get('auth');
    // Session data: assign, and keycardHono saves it after the handler (only when it changed).
    const visits = (typeof auth.data.visits === 'number' ? auth.data.visits : 0) + 1;
    auth.data.visits = visits;
    return c.json({ user: auth.user, visits });
  });

  // 401 signed out, 403 unless the user's role is admin.
  app.get('/api/admin/users', requireRole('admin'), async (c) => {
    const users = await keycard.users.list({ limit: 100 });
    return c.json({ users: users.map(({ username, role, blocked }) => ({ username, role, blocked })) });
  });

  // keycard's errors thrown in a handler become {"error": {code, message}} with their status; an unknown
  // path gets the same JSON 404 the auth API gives.
  app.onError(keycardErrors());
  app.notFound((c) =>
    errorResponse(new KeycardError('not_found', `no route for ${c.req.method} ${c.req.path}`)),
  );
  return { app, keycard };
}
