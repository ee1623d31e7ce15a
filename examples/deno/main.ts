/**
 * keycard on Deno with Hono: `Deno.serve` runs a Hono app in which `keycardHono` answers the auth API
 * and guards the app's own routes. The hybrid strategy (`spa` preset): the access token is a JWT in an
 * HttpOnly cookie, checked without a store read, and the server keeps a record of each login so that
 * logout and blocking take effect at once. Users and logins in SQLite through Deno's `node:sqlite`.
 *
 *   deno run --allow-read --allow-write --allow-net --allow-env --allow-ffi --allow-sys=uid,gid \
 *     --conditions=source --sloppy-imports examples/deno/main.ts
 */
import { Hono } from 'hono';
import { createKeycard, generateJWTKey, KeycardError } from 'keycard';
import { errorResponse } from 'keycard/fetch';
import { type KeycardEnv, keycardErrors, keycardHono, requireAuth, requireRole } from 'keycard/hono';
import { openStore, redactURL } from 'keycard/stores';

const storeURL = Deno.env.get('KEYCARD_STORE') ?? 'sqlite:./example.db';
const port = Number(Deno.env.get('PORT') ?? 3004);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a whole number from 0 to 65535 (got '${Deno.env.get('PORT')}')`);
  Deno.exit(2);
}

// `sqlite:` opens the file with node:sqlite here (better-sqlite3 is a Node addon Deno does not load).
const store = await openStore(storeURL);
// A signing key made at start-up, so every restart signs everyone out. In production, load your keys
// (importJWK) and pass jwt.refreshSecrets, as keycard serve does from its key file.
const keycard = createKeycard({ store, preset: 'spa', jwt: { keys: [generateJWTKey('EdDSA')] } });

/** Deno.serve passes its connection info as Hono's `c.env`. */
type Env = KeycardEnv & { Bindings: Deno.ServeHandlerInfo<Deno.NetAddr> };
const app = new Hono<Env>();

// Answers /auth/* and /.well-known/jwks.json itself. For every other request it checks the access-token
// cookie, refuses a cross-site or CSRF-less unsafe request that carries it, and sets c.get('auth') and,
// for a JSON or form body, c.get('body').
app.use(keycardHono(keycard, { clientAddress: (c) => (c.env as Env['Bindings']).remoteAddr.hostname }));

/** Each user's notes; lost on restart (an example's database would keep them). */
const notes = new Map<string, string[]>();

app.get('/api/profile', requireAuth(), (c) => c.json({ user: c.get('auth').user }));

app.get('/api/notes', requireAuth(), (c) => {
  const user = c.get('auth').user as { id: string };
  return c.json({ notes: notes.get(user.id) ?? [] });
});

// A state-changing request: from a browser it needs the X-CSRF-Token header (the login's csrf_token, or
// GET /auth/csrf), which keycardHono checked before this runs. The body was parsed with keycard's limits.
app.post('/api/notes', requireAuth(), (c) => {
  const user = c.get('auth').user as { id: string };
  const body = c.get('body') as { text?: unknown } | undefined;
  if (typeof body?.text !== 'string' || body.text.length === 0 || body.text.length > 1000) {
    throw new KeycardError('invalid_request', 'send {"text": "…"}, 1 to 1000 characters');
  }
  const mine = notes.get(user.id) ?? [];
  mine.push(body.text);
  notes.set(user.id, mine);
  return c.json({ notes: mine }, 201);
});

// 401 signed out, 403 unless the user's role is admin; a state-changing admin request would also confirm
// in the store that the login is still live.
app.get('/api/admin/users', requireRole('admin'), async (c) => {
  const users = await keycard.users.list({ limit: 100 });
  return c.json({ users: users.map(({ username, role, blocked }) => ({ username, role, blocked })) });
});

app.onError(keycardErrors());
app.notFound((c) =>
  errorResponse(new KeycardError('not_found', `no route for ${c.req.method} ${c.req.path}`)),
);

const shownStore = redactURL(storeURL);
const server = Deno.serve(
  {
    hostname: '127.0.0.1',
    port,
    onListen: ({ hostname, port }) =>
      console.log(`deno example listening on http://${hostname}:${port} (store: ${shownStore})`),
  },
  app.fetch,
);
if ((await keycard.users.count()) === 0) {
  console.log(
    `no users yet; create one with: npx keycard user add alice --role admin --password-stdin --store ${shownStore}`,
  );
}

async function stop(): Promise<void> {
  await server.shutdown();
  await keycard.close();
  await store.close();
  Deno.exit(0);
}
Deno.addSignalListener('SIGINT', stop);
Deno.addSignalListener('SIGTERM', stop);
