/**
 * The adapter scenarios for the token strategies: the same HTTP scenarios run against every framework
 * adapter (Express, Fastify) for `jwt` and `hybrid`, with the header (Bearer + JSON body) and the cookie
 * transport, each serving the same small app over a real socket. The session strategy's scenarios are in
 * scenarios.ts; here the credential is an access JWT and a rotating refresh token (docs/jwt.md,
 * docs/hybrid.md). Adapters only translate: a scenario that passes on one and fails on another means the
 * adapter is wrong.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import {
  keycardErrors,
  keycardExpress,
  requireAuth as requireAuthExpress,
  requireRole as requireRoleExpress,
} from '../../src/adapters/express/index.js';
import {
  keycardFastify,
  requireAuth as requireAuthFastify,
  requireRole as requireRoleFastify,
} from '../../src/adapters/fastify/index.js';
import {
  type AuthContext,
  createKeycard,
  createKeySet,
  generateJWTKey,
  type Keycard,
  KeycardError,
  type Strategy,
  type Transport,
} from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { FAST_ARGON2 } from '../core/support.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { eventually } from '../helpers/eventually.js';
import { parseSetCookie, type Response, request } from '../helpers/http.js';
import type { StartApp } from './scenarios.js';

/**
 * Every adapter's token app serves these routes:
 *   POST /login {username, password}   keycard.signIn → 200 {user, session: {id}, ...tokens, csrf_token?}
 *   GET  /me                           requireAuth → {user, loginId, claims}
 *   POST /action                       requireAuth → {ok, username} (an unsafe authenticated request)
 *   POST /auth/refresh {refresh_token?} req.auth.refresh() → 200 {user, ...tokens} or keycard's error
 *   POST /logout                       req.auth.logout() → 200
 *   GET  /admin                        requireRole('admin') → 200 {ok}
 *   GET  /csrf                         {token: req.auth.csrfToken()}
 */
const REFRESH_PATH = '/auth/refresh';
const ACCESS_COOKIE = 'keycard_access';
const REFRESH_COOKIE = 'keycard_refresh';
const ACCESS_SECONDS = 900;
const REFRESH_SECONDS = 7 * 24 * 3600;

/** The login's answer, as the server's `POST /auth/login` builds it (src/api/routes.ts). */
function loginBody(context: AuthContext, sessionId: string): Record<string, unknown> {
  return {
    user: context.user,
    session: { id: sessionId },
    ...context.tokens,
    ...(context.usesCookies ? { csrf_token: context.csrfToken() } : {}),
  };
}

function meBody(context: AuthContext): Record<string, unknown> {
  return { user: context.user, loginId: context.loginId, claims: context.claims };
}

function refreshTokenFrom(body: unknown): string | undefined {
  const value = (body as { refresh_token?: unknown } | undefined)?.refresh_token;
  return typeof value === 'string' ? value : undefined;
}

const startExpress: StartApp = async (keycard) => {
  const app = express();
  app.use(express.json());
  app.use(keycardExpress(keycard));
  app.post('/login', async (req, res) => {
    const result = await keycard.signIn(req.auth, req.body ?? {});
    if (!result.ok) throw new KeycardError(result.reason, 'wrong username or password');
    res.json(loginBody(req.auth, result.session.id));
  });
  app.get('/me', requireAuthExpress(), (req, res) => {
    res.json(meBody(req.auth));
  });
  app.post('/action', requireAuthExpress(), (req, res) => {
    res.json({ ok: true, username: req.auth.user?.username });
  });
  app.post(REFRESH_PATH, async (req, res) => {
    const outcome = await req.auth.refresh(refreshTokenFrom(req.body));
    if (!outcome.ok) throw new KeycardError(outcome.code, outcome.reason);
    res.json({ user: req.auth.user, ...req.auth.tokens });
  });
  app.post('/logout', async (req, res) => {
    await req.auth.logout();
    res.json({ ok: true });
  });
  app.get('/admin', requireRoleExpress('admin'), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/csrf', (req, res) => {
    res.json({ token: req.auth.csrfToken() });
  });
  app.use(keycardErrors());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const startFastify: StartApp = async (keycard) => {
  const app = Fastify();
  await app.register(keycardFastify, { keycard });
  app.post('/login', async (request) => {
    const body = (request.body ?? {}) as { username: unknown; password: unknown };
    const result = await keycard.signIn(request.auth, body);
    if (!result.ok) throw new KeycardError(result.reason, 'wrong username or password');
    return loginBody(request.auth, result.session.id);
  });
  app.get('/me', { preHandler: requireAuthFastify() }, async (request) => meBody(request.auth));
  app.post('/action', { preHandler: requireAuthFastify() }, async (request) => ({
    ok: true,
    username: request.auth.user?.username,
  }));
  app.post(REFRESH_PATH, async (request) => {
    const outcome = await request.auth.refresh(refreshTokenFrom(request.body));
    if (!outcome.ok) throw new KeycardError(outcome.code, outcome.reason);
    return { user: request.auth.user, ...request.auth.tokens };
  });
  app.post('/logout', async (request) => {
    await request.auth.logout();
    return { ok: true };
  });
  app.get('/admin', { preHandler: requireRoleFastify('admin') }, async () => ({ ok: true }));
  app.get('/csrf', async (request) => ({ token: request.auth.csrfToken() }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
};

interface Flavour {
  strategy: Exclude<Strategy, 'session'>;
  transport: Transport;
}

interface Tokens {
  access: string;
  refresh: string;
}

interface Login extends Tokens {
  sessionId: string;
  csrf: string | undefined;
  response: Response;
}

/** A Set-Cookie of the response by cookie name, parsed. */
function setCookie(response: Response, name: string): ReturnType<typeof parseSetCookie> | undefined {
  return response.setCookies.map(parseSetCookie).find((cookie) => cookie.name === name);
}

/** The signature's first character changed: same header and claims, a signature that cannot verify. */
function tamper(token: string): string {
  const dot = token.lastIndexOf('.');
  const first = token[dot + 1] === 'A' ? 'B' : 'A';
  return `${token.slice(0, dot + 1)}${first}${token.slice(dot + 2)}`;
}

function describeTokenScenarios(adapter: string, flavour: Flavour, startApp: StartApp): void {
  const { strategy, transport } = flavour;
  const cookies = transport === 'cookie';
  const hybrid = strategy === 'hybrid';

  describe(`token scenarios: ${adapter}, ${strategy} strategy, ${transport} transport`, () => {
    const clock = new ManualClock(Date.now());
    let counting: CountingStore;
    let keycard: Keycard;
    let app: { url: string; close(): Promise<void> };
    let alice: { id: string };

    before(async () => {
      counting = countingStore(new MemoryStore({ clock }));
      keycard = createKeycard({
        store: counting.store,
        clock,
        strategy,
        passwords: { argon2: FAST_ARGON2 },
        jwt: { keys: createKeySet([generateJWTKey('EdDSA', 'k1')]), transport },
      });
      alice = await keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
      await keycard.users.create({ username: 'bob', password: 'bob-password-1' });
      await keycard.users.create({ username: 'carol', password: 'carol-password' });
      app = await startApp(keycard);
      if (hybrid) await eventually(() => keycard.revocations?.feedState === 'synced', 'the feed to sync');
    });
    after(async () => {
      await app?.close();
      await keycard?.close();
      await counting?.store.close();
    });

    /** Headers that present an access token the way this transport carries it. */
    function withAccess(access: string, headers: Record<string, string> = {}): Record<string, string> {
      return cookies
        ? { cookie: `${ACCESS_COOKIE}=${access}`, ...headers }
        : { authorization: `Bearer ${access}`, ...headers };
    }

    function get(path: string, access?: string, headers: Record<string, string> = {}): Promise<Response> {
      return request(app.url, 'GET', path, { headers: access ? withAccess(access, headers) : headers });
    }

    function post(path: string, access?: string, headers: Record<string, string> = {}): Promise<Response> {
      return request(app.url, 'POST', path, { headers: access ? withAccess(access, headers) : headers });
    }

    /** Presents a refresh token: the refresh cookie, or `{refresh_token}` in the body. */
    function refreshWith(refresh: string, headers: Record<string, string> = {}): Promise<Response> {
      return cookies
        ? request(app.url, 'POST', REFRESH_PATH, {
            headers: { cookie: `${REFRESH_COOKIE}=${refresh}`, ...headers },
          })
        : request(app.url, 'POST', REFRESH_PATH, { json: { refresh_token: refresh }, headers });
    }

    /** The tokens a login or refresh handed out: from the cookies, or from the JSON body. */
    function tokensOf(response: Response): Tokens {
      if (!cookies) return { access: response.json.access_token, refresh: response.json.refresh_token };
      const access = setCookie(response, ACCESS_COOKIE)?.value;
      const refresh = setCookie(response, REFRESH_COOKIE)?.value;
      assert.ok(access && refresh, `both token cookies are set: ${response.setCookies.join(' | ')}`);
      return { access, refresh };
    }

    async function login(username = 'alice', password = 'alice-password'): Promise<Login> {
      const response = await request(app.url, 'POST', '/login', { json: { username, password } });
      assert.equal(response.status, 200, response.text);
      return {
        ...tokensOf(response),
        sessionId: response.json.session.id,
        csrf: response.json.csrf_token,
        response,
      };
    }

    if (cookies) {
      test('login sets HttpOnly token cookies; the refresh cookie is scoped to the refresh path', async () => {
        const { response } = await login();
        const access = setCookie(response, ACCESS_COOKIE);
        const refresh = setCookie(response, REFRESH_COOKIE);
        assert.ok(access && refresh, 'plain-http loopback: no __Host-/__Secure- prefix');
        for (const cookie of [access, refresh]) {
          assert.ok(cookie.attributes.has('httponly'), `${cookie.name} is HttpOnly`);
          assert.equal(cookie.attributes.get('samesite'), 'Lax');
          assert.equal(cookie.attributes.has('domain'), false);
          assert.equal(cookie.attributes.has('secure'), false, 'plain-http loopback');
        }
        assert.equal(access.attributes.get('path'), '/');
        assert.equal(access.attributes.get('max-age'), String(ACCESS_SECONDS));
        assert.equal(refresh.attributes.get('path'), REFRESH_PATH, 'sent only to the refresh endpoint');
        assert.equal(refresh.attributes.get('max-age'), String(REFRESH_SECONDS));
        assert.equal(response.json.access_token, undefined, 'no token in the body');
        assert.equal(response.json.refresh_token, undefined, 'no token in the body');
      });
    } else {
      test('login returns the tokens in the JSON body and sets no cookie', async () => {
        const { response, access, sessionId } = await login();
        assert.equal(response.setCookies.length, 0);
        assert.equal(response.json.token_type, 'Bearer');
        assert.equal(response.json.expires_in, ACCESS_SECONDS);
        assert.equal(response.json.refresh_expires_in, REFRESH_SECONDS);
        const payload = JSON.parse(Buffer.from(access.split('.')[1] ?? '', 'base64url').toString());
        // loginId.generation.MAC: the login's id, generation 0, a 256-bit MAC.
        assert.match(response.json.refresh_token, new RegExp(`^${payload.sid}\\.0\\.[A-Za-z0-9_-]{43}$`));
        assert.equal(payload.sub, alice.id);
        assert.equal(payload.sid, sessionId);
        assert.equal(payload.role, 'admin');
        assert.equal(response.json.csrf_token, undefined, 'no cookies, so no CSRF token');
      });
    }

    test(`a protected route accepts the access token and exposes the user in ${adapter === 'express' ? 'req.auth' : 'request.auth'}`, async () => {
      const { access, sessionId } = await login();
      const me = await get('/me', access);
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.user.id, alice.id);
      assert.equal(me.json.user.username, 'alice');
      assert.equal(me.json.user.role, 'admin');
      assert.equal(me.json.loginId, sessionId);
      assert.equal(me.json.claims.sub, alice.id);
      assert.equal(me.json.claims.sid, sessionId);
    });

    test('no token, a tampered token or a malformed credential → 401 unauthenticated', async () => {
      const { access } = await login();
      const none = await get('/me');
      assert.equal(none.status, 401);
      assert.equal(none.json.error.code, 'unauthenticated');
      const tampered = await get('/me', tamper(access));
      assert.equal(tampered.status, 401);
      assert.equal(tampered.json.error.code, 'unauthenticated');
      if (cookies) {
        const cleared = setCookie(tampered, ACCESS_COOKIE);
        assert.equal(cleared?.attributes.get('max-age'), '0', 'an invalid access cookie is cleared');
        assert.equal(cleared?.attributes.get('path'), '/');
      } else {
        const basic = await get('/me', undefined, { authorization: `Basic ${access}` });
        assert.equal(basic.status, 401);
        assert.equal(basic.json.error.code, 'unauthenticated');
      }
    });

    test('requireAuth and requireRole: 401 unauthenticated, 403 forbidden, 200 for the role', async () => {
      const action = await post('/action');
      assert.equal(action.status, 401);
      assert.equal(action.json.error.code, 'unauthenticated');
      const anonymous = await get('/admin');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.json.error.code, 'unauthenticated');
      const bob = await login('bob', 'bob-password-1');
      const forbidden = await get('/admin', bob.access);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.json.error.code, 'forbidden');
      const admin = await login();
      assert.equal((await get('/admin', admin.access)).status, 200);
    });

    test('refresh rotates: the new tokens work, the spent refresh token is refused and revokes the login', async () => {
      const first = await login();
      const rotated = await refreshWith(first.refresh);
      assert.equal(rotated.status, 200, rotated.text);
      const second = tokensOf(rotated);
      assert.notEqual(second.refresh, first.refresh);
      assert.notEqual(second.access, first.access);
      if (cookies) {
        assert.equal(setCookie(rotated, REFRESH_COOKIE)?.attributes.get('path'), REFRESH_PATH);
      } else {
        assert.equal(rotated.json.token_type, 'Bearer');
      }
      const me = await get('/me', second.access);
      assert.equal(me.status, 200);
      assert.equal(me.json.loginId, first.sessionId, 'the same login');
      // The new refresh token works in turn.
      const again = await refreshWith(second.refresh);
      assert.equal(again.status, 200, again.text);
      const third = tokensOf(again);
      // Past the 15 s grace window, the spent token is taken for a stolen one.
      clock.advanceSeconds(16);
      const reused = await refreshWith(first.refresh);
      assert.equal(reused.status, 401);
      assert.equal(reused.json.error.code, 'refresh_token_reused');
      const dead = await refreshWith(third.refresh);
      assert.equal(dead.status, 401, 'the whole family is revoked');
      assert.equal(dead.json.error.code, 'token_invalid');
      if (hybrid) {
        const refused = await get('/me', third.access);
        assert.equal(refused.status, 401, 'hybrid: the live access token is revoked too');
        assert.match(refused.json.error.message, /revoked/);
      }
    });

    test('two refreshes with the same token inside the grace window get the same successor', async () => {
      const first = await login();
      const a = await refreshWith(first.refresh);
      const b = await refreshWith(first.refresh);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      assert.equal(tokensOf(b).refresh, tokensOf(a).refresh);
      assert.equal((await get('/me', tokensOf(b).access)).status, 200);
    });

    test('a garbage refresh token → 401 token_invalid', async () => {
      const response = await refreshWith('x'.repeat(43));
      assert.equal(response.status, 401);
      assert.equal(response.json.error.code, 'token_invalid');
    });

    test('logout ends the login: its refresh token is dead', async () => {
      const session = await login();
      const out = await post('/logout', session.access);
      assert.equal(out.status, 200, out.text);
      if (cookies) {
        const access = setCookie(out, ACCESS_COOKIE);
        const refresh = setCookie(out, REFRESH_COOKIE);
        assert.equal(access?.attributes.get('max-age'), '0');
        assert.equal(access?.attributes.get('path'), '/');
        assert.equal(refresh?.attributes.get('max-age'), '0');
        assert.equal(refresh?.attributes.get('path'), REFRESH_PATH, 'cleared with the path it was set with');
      }
      const refresh = await refreshWith(session.refresh);
      assert.equal(refresh.status, 401);
      assert.equal(refresh.json.error.code, 'token_invalid');
      assert.deepEqual(
        (await keycard.logins.listForUser(alice.id)).filter((login) => login.id === session.sessionId),
        [],
      );
      const replay = await get('/me', session.access);
      if (hybrid) {
        assert.equal(replay.status, 401, 'hybrid: refused on the very next request');
        assert.match(replay.json.error.message, /revoked/);
      } else {
        // docs/jwt.md, "The trade-off": a stateless access token lives until it expires.
        assert.equal(replay.status, 200, 'jwt: the access token stays valid until it expires');
        clock.advanceSeconds(ACCESS_SECONDS + 11);
        const expired = await get('/me', session.access);
        assert.equal(expired.status, 401, 'past exp and the leeway');
        assert.match(expired.json.error.message, /expired/);
      }
    });

    test('an authenticated request makes no store call', async () => {
      // Another login ended first, so the revocation list is not empty (hybrid).
      const bob = await login('bob', 'bob-password-1');
      assert.equal((await post('/logout', bob.access)).status, 200);
      const session = await login();
      counting.reset();
      for (let i = 0; i < 5; i++) assert.equal((await get('/me', session.access)).status, 200);
      assert.equal((await post('/action', session.access)).status, 200);
      assert.equal((await get('/admin', session.access)).status, 200);
      assert.deepEqual([...counting.counts], [], 'no store call of any kind');
    });

    if (hybrid) {
      test('revoking the login with keycard.logins refuses the access token on the next request', async () => {
        const session = await login();
        assert.equal((await get('/me', session.access)).status, 200);
        assert.equal(await keycard.logins.destroy(session.sessionId), true);
        const refused = await get('/me', session.access);
        assert.equal(refused.status, 401);
        assert.equal(refused.json.error.code, 'unauthenticated');
        assert.match(refused.json.error.message, /revoked/);
        assert.equal((await refreshWith(session.refresh)).status, 401);
      });

      test('revoking all of a user’s logins refuses every one of their access tokens at once', async () => {
        // carol only: a user-wide cut-off also refuses tokens issued in the same second (docs/hybrid.md).
        const laptop = await login('carol', 'carol-password');
        const phone = await login('carol', 'carol-password');
        const carol = await keycard.users.findByUsername('carol');
        assert.ok(carol);
        assert.equal(await keycard.logins.destroyAllForUser(carol.id), 2);
        for (const device of [laptop, phone]) {
          const refused = await get('/me', device.access);
          assert.equal(refused.status, 401);
          assert.match(refused.json.error.message, /revoked/);
        }
      });
    }

    if (cookies) {
      test('a cross-site unsafe request with the access cookie → 403 cross_site_request; the login survives', async () => {
        const session = await login();
        const attacks: Record<string, string>[] = [
          { 'sec-fetch-site': 'cross-site' },
          { 'sec-fetch-site': 'same-site' },
          { origin: 'https://evil.example' },
          { origin: 'null' },
        ];
        for (const headers of attacks) {
          const response = await post('/action', session.access, headers);
          assert.equal(response.status, 403, JSON.stringify(headers));
          assert.equal(response.json.error.code, 'cross_site_request');
        }
        const logout = await post('/logout', session.access, { 'sec-fetch-site': 'cross-site' });
        assert.equal(logout.status, 403);
        assert.equal((await get('/me', session.access)).status, 200, 'the login survived');
        assert.equal(
          (await get('/me', session.access, { 'sec-fetch-site': 'cross-site' })).status,
          200,
          'a cross-site GET changes nothing and is allowed',
        );
      });

      test('a cross-site refresh with the refresh cookie → 403, and the refresh token is not spent', async () => {
        const session = await login();
        const refused = await refreshWith(session.refresh, { origin: 'https://evil.example' });
        assert.equal(refused.status, 403);
        assert.equal(refused.json.error.code, 'cross_site_request');
        assert.equal(refused.setCookies.length, 0, 'no token handed out');
        const ok = await refreshWith(session.refresh);
        assert.equal(ok.status, 200, 'the refresh token was not spent by the refused request');
      });

      test('same-origin browser requests need the login’s CSRF token; header-less ones do not', async () => {
        const session = await login();
        const host = new URL(app.url).host;
        const missing = await post('/action', session.access, { 'sec-fetch-site': 'same-origin' });
        assert.equal(missing.status, 403);
        assert.equal(missing.json.error.code, 'csrf_rejected');
        const { token } = (await get('/csrf', session.access)).json;
        const withToken = await post('/action', session.access, {
          'sec-fetch-site': 'same-origin',
          'x-csrf-token': token,
        });
        assert.equal(withToken.status, 200, withToken.text);
        const withOrigin = await post('/action', session.access, {
          origin: `http://${host}`,
          'x-csrf-token': token,
        });
        assert.equal(withOrigin.status, 200, withOrigin.text);
        assert.equal((await post('/action', session.access)).status, 200, 'curl-like: no token needed');
        // A token bound to another login is refused.
        const bob = await login('bob', 'bob-password-1');
        const theirs = (await get('/csrf', bob.access)).json.token as string;
        const foreign = await post('/action', session.access, {
          'sec-fetch-site': 'same-origin',
          'x-csrf-token': theirs,
        });
        assert.equal(foreign.status, 403);
        assert.equal(foreign.json.error.code, 'csrf_rejected');
      });

      test('the CSRF token returned with the login is bound to the new login', async () => {
        const session = await login();
        assert.ok(session.csrf, 'the login answers a csrf_token');
        const response = await post('/action', session.access, {
          'sec-fetch-site': 'same-origin',
          'x-csrf-token': session.csrf,
        });
        assert.equal(response.status, 200, response.text);
      });

      test('a browser login needs a pre-login CSRF token', async () => {
        const credentials = { username: 'alice', password: 'alice-password' };
        const refused = await request(app.url, 'POST', '/login', {
          json: credentials,
          headers: { 'sec-fetch-site': 'same-origin' },
        });
        assert.equal(refused.status, 403);
        assert.equal(refused.json.error.code, 'csrf_rejected');
        const csrf = await get('/csrf');
        const preLogin = setCookie(csrf, 'keycard_csrf');
        assert.ok(preLogin, 'the pre-login cookie is set');
        const ok = await request(app.url, 'POST', '/login', {
          json: credentials,
          headers: {
            'sec-fetch-site': 'same-origin',
            'x-csrf-token': csrf.json.token,
            cookie: `keycard_csrf=${preLogin.value}`,
          },
        });
        assert.equal(ok.status, 200, ok.text);
        assert.ok(setCookie(ok, ACCESS_COOKIE), 'signed in');
      });
    } else {
      test('Bearer requests skip the Origin and CSRF checks; an access cookie is not a credential', async () => {
        const session = await login();
        const browserish: Record<string, string>[] = [
          { 'sec-fetch-site': 'same-origin' },
          { 'sec-fetch-site': 'cross-site' },
          { origin: 'https://elsewhere.example' },
        ];
        for (const headers of browserish) {
          const response = await post('/action', session.access, headers);
          assert.equal(response.status, 200, `${JSON.stringify(headers)}: ${response.text}`);
          assert.equal(response.json.username, 'alice');
        }
        const asCookie = await request(app.url, 'GET', '/me', {
          headers: { cookie: `${ACCESS_COOKIE}=${session.access}` },
        });
        assert.equal(asCookie.status, 401, 'header transport: cookies carry no credential');
      });
    }
  });
}

const ADAPTERS: [string, StartApp][] = [
  ['express', startExpress],
  ['fastify', startFastify],
];
const FLAVOURS: Flavour[] = [
  { strategy: 'jwt', transport: 'header' },
  { strategy: 'jwt', transport: 'cookie' },
  { strategy: 'hybrid', transport: 'cookie' },
  { strategy: 'hybrid', transport: 'header' },
];
for (const [adapter, startApp] of ADAPTERS) {
  for (const flavour of FLAVOURS) describeTokenScenarios(adapter, flavour, startApp);
}
