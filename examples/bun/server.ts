/**
 * keycard on Bun with no framework: `Bun.serve` answers the auth API with keycard's Fetch handler and
 * the app's own routes with `authenticate()`. The jwt strategy (`api` preset: Bearer access tokens,
 * rotating refresh tokens, a JWKS), users and logins in SQLite through Bun's built-in `bun:sqlite`.
 *
 *   bun --conditions=source examples/bun/server.ts
 */
import {
  type AuthContext,
  authorize,
  createKeycard,
  generateJWTKey,
  isKeycardError,
  KeycardError,
  toPublicUser,
} from 'keycard';
import {
  authenticate,
  type ConnectionInfo,
  createFetchHandler,
  errorResponse,
  withCookies,
} from 'keycard/fetch';
import { openStore, redactURL } from 'keycard/stores';

const storeURL = Bun.env.KEYCARD_STORE ?? 'sqlite:./example.db';
const port = Number(Bun.env.PORT ?? 3003);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a whole number from 0 to 65535 (got '${Bun.env.PORT}')`);
  process.exit(2);
}

// `sqlite:` opens the file with bun:sqlite here (better-sqlite3 is a Node addon Bun cannot load).
const store = await openStore(storeURL);
// A signing key made at start-up, so every restart signs everyone out. In production, load your keys
// (importJWK) and pass jwt.refreshSecrets, as keycard serve does from its key file.
const keycard = createKeycard({ store, preset: 'api', jwt: { keys: [generateJWTKey('EdDSA')] } });

/** The app's own routes, each given the request's auth. */
const routes: Record<string, (auth: AuthContext) => Promise<Response>> = {
  // 401 unless the request carries a valid access token (Authorization: Bearer …).
  'GET /api/profile': async (auth) => {
    await authorize(auth);
    return Response.json({ user: auth.user });
  },
  // 403 unless the token's role is admin; `live: true` also checks the store that the login has not
  // ended (logout, block), which a signature check alone cannot know before the token expires.
  'GET /api/admin/users': async (auth) => {
    await authorize(auth, { roles: ['admin'], live: true });
    const users = await keycard.users.list({ limit: 100 });
    return Response.json({ users: users.map(toPublicUser) });
  },
};

async function app(request: Request, connection: ConnectionInfo = {}): Promise<Response> {
  const { pathname } = new URL(request.url);
  const route = routes[`${request.method} ${pathname}`];
  if (!route) {
    return errorResponse(new KeycardError('not_found', `no route for ${request.method} ${pathname}`));
  }
  let cookies: string[] = [];
  try {
    const authenticated = await authenticate(keycard, request, connection);
    cookies = authenticated.cookies;
    return withCookies(await route(authenticated.auth), cookies);
  } catch (error) {
    // keycard's refusals as JSON {"error": {code, message}} with their status; anything else is a bug.
    if (!isKeycardError(error)) throw error;
    return errorResponse(error, { cookies });
  }
}

// /auth/* and /.well-known/jwks.json are keycard's; every other request goes to `fallback`.
const handle = createFetchHandler(keycard, { fallback: app });

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  // A Request does not carry the client's address; throttling and the session list need it.
  fetch: (request, server) => handle(request, { ip: server.requestIP(request)?.address ?? null }),
});
const shownStore = redactURL(storeURL);
console.log(`bun example listening on http://${server.hostname}:${server.port} (store: ${shownStore})`);
if ((await keycard.users.count()) === 0) {
  console.log(
    `no users yet; create one with: npx keycard user add alice --role admin --password-stdin --store ${shownStore}`,
  );
}

async function stop(): Promise<void> {
  await server.stop();
  await keycard.close();
  await store.close();
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
