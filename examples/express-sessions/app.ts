/**
 * The classic express-session example, done with keycard: sign in, a page only signed-in users see with a
 * per-session visit counter in `req.session`, sign out, and an admin who can block a user (which ends all
 * of that user's sessions at once).
 *
 * Everything is imported from keycard's public entry points, as an application would.
 */
import express from 'express';
import {
  type Clock,
  createKeycard,
  type EventContext,
  type Keycard,
  KeycardError,
  type Store,
  toPublicUser,
} from 'keycard';
import {
  asyncHandler,
  csrfToken,
  keycardErrors,
  keycardExpress,
  requireAuth,
  requireRole,
} from 'keycard/express';
import { MemoryStore } from 'keycard/stores/memory';

export interface ExampleOptions {
  /** Where users and sessions live; default an in-memory store (lost on restart). */
  store?: Store;
  /** Injected time, for tests; default the system clock. */
  clock?: Clock;
}

export interface ExampleApp {
  app: express.Express;
  keycard: Keycard;
  store: Store;
}

/** Preference keys a client may set: short identifiers, so a key is never a path or a prototype name. */
const PREFERENCE_KEY = /^[a-z][a-z0-9_]{0,31}$/;

function auditContext(req: express.Request): EventContext {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

export async function createApp(options: ExampleOptions = {}): Promise<ExampleApp> {
  const store = options.store ?? new MemoryStore({ clock: options.clock });
  const keycard = createKeycard({ store, clock: options.clock });

  const app = express();
  app.disable('x-powered-by');
  // keycard first: it loads the session and refuses cross-site unsafe requests carrying the session cookie
  // before any body is read.
  app.use(keycardExpress(keycard));
  app.use(express.json({ limit: '16kb' }));

  // Browser pages fetch a CSRF token and send it back as X-CSRF-Token on every POST (before login it is
  // bound to a pre-login cookie; after login, fetch a new one). curl and servers need none.
  app.get('/auth/csrf', csrfToken());

  // asyncHandler hands an async handler's errors to keycardErrors — needed on Express 4, harmless on 5.
  app.post(
    '/login',
    asyncHandler(async (req, res) => {
      // signIn checks the body (400 naming the field), refuses a cross-site login and a browser login
      // without its pre-login CSRF token (login CSRF), throttles, then starts a fresh session.
      const result = await keycard.signIn(req.auth, req.body);
      // 401 invalid_credentials, 403 account_blocked, or 429 with Retry-After (keycardErrors sends it).
      if (!result.ok) throw result.error;
      res.json({ user: toPublicUser(result.user) });
    }),
  );

  app.get('/profile', requireAuth(), (req, res) => {
    // Session data works as with express-session: assign, and it is saved before the response is sent.
    const visits = (typeof req.session.visits === 'number' ? req.session.visits : 0) + 1;
    req.session.visits = visits;
    res.json({ user: req.auth.user, visits });
  });

  app.post(
    '/logout',
    asyncHandler(async (req, res) => {
      await req.auth.logout();
      res.json({ ok: true });
    }),
  );

  // Each request sets one key of the session; two requests setting different keys at once both persist.
  app.post('/prefs/:key', requireAuth(), (req, res) => {
    const key = req.params.key as string;
    // `id`, `save`, `destroy`, … are the session object's own methods, not data: refuse them as keys.
    if (!PREFERENCE_KEY.test(key) || (key in req.session && !Object.hasOwn(req.session, key))) {
      throw new KeycardError('invalid_request', 'the key must be a short lower-case identifier', {
        field: 'key',
      });
    }
    const body = req.body as { value?: unknown } | undefined;
    if (body?.value === undefined) {
      throw new KeycardError('invalid_request', 'send a JSON body with a value', { field: 'value' });
    }
    req.session[key] = body.value;
    res.json({ key, value: body.value });
  });

  app.get('/prefs', requireAuth(), (req, res) => {
    res.json({ session: { ...req.session } });
  });

  app.get(
    '/admin/users',
    requireRole('admin'),
    asyncHandler(async (_req, res) => {
      const users = await keycard.users.list({ limit: 100 });
      res.json({ users: users.map(toPublicUser) });
    }),
  );

  app.post(
    '/admin/users/:username/block',
    requireRole('admin'),
    asyncHandler(async (req, res) => {
      const user = await keycard.users.findByUsername(req.params.username as string);
      if (!user) throw new KeycardError('not_found', 'no such user');
      // Sets the blocked flag and deletes every session of the user: their next request is signed out.
      const blocked = await keycard.users.block(user.id, auditContext(req));
      res.json({ user: toPublicUser(blocked) });
    }),
  );

  app.use((req, _res, next) => {
    next(new KeycardError('not_found', `no route for ${req.method} ${req.path}`));
  });
  // keycard's errors and express.json()'s (malformed or oversized body) as {"error": {code, message}}.
  app.use(keycardErrors());

  return { app, keycard, store };
}
