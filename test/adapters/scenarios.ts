/**
 * The adapter scenario suite: the same HTTP scenarios run against every framework adapter (Express,
 * Fastify), each serving the same small app over a real socket. Adapters only translate; if a scenario
 * passes on one and fails on another, the adapter is wrong.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createKeycard, type Keycard } from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { FAST_ARGON2 } from '../core/support.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { Client, parseSetCookie } from '../helpers/http.js';

/**
 * Every adapter's test app serves these routes, with a 16 KiB body limit and keycard's error handler:
 *   POST /login {username, password}   keycard.signIn(req.auth, req.body) → 200 {user} or keycard's error
 *   GET  /me                           requireAuth → {user, data: {...session data}}
 *   POST /data {key, value}            req.session[key] = value → 200 {ok}
 *   POST /logout                       req.auth.logout() → 200
 *   POST /regenerate                   req.session.regenerate() → 200
 *   GET  /admin                        requireRole('admin') → 200 {ok}
 *   GET  /auth/csrf                    the adapter's csrfToken() route → {token}
 */
export type StartApp = (keycard: Keycard) => Promise<{ url: string; close(): Promise<void> }>;

const SESSION_COOKIE = 'keycard_session';

export function describeAdapterScenarios(name: string, startApp: StartApp): void {
  describe(`adapter scenarios: ${name}`, () => {
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
        passwords: { argon2: FAST_ARGON2 },
        session: { idleTimeout: '1h', absoluteTimeout: '1d', maxDataBytes: 1024 },
      });
      alice = await keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
      await keycard.users.create({ username: 'bob', password: 'bob-password-1' });
      app = await startApp(keycard);
    });
    after(async () => {
      await app?.close();
      await counting?.store.close();
    });
    beforeEach(async () => {
      await keycard.logins.destroyAllForUser(alice.id);
    });

    async function signedIn(username = 'alice', password = 'alice-password'): Promise<Client> {
      const client = new Client(app.url);
      const response = await client.post('/login', { json: { username, password } });
      assert.equal(response.status, 200, response.text);
      return client;
    }

    test('login sets an HttpOnly, SameSite=Lax, Path=/ session cookie and /me sees the user', async () => {
      const client = new Client(app.url);
      const response = await client.post('/login', {
        json: { username: 'ALICE', password: 'alice-password' },
      });
      assert.equal(response.status, 200);
      const cookie = parseSetCookie(response.setCookies[0] ?? '');
      assert.equal(cookie.name, SESSION_COOKIE, 'plain-http loopback: no __Host- prefix');
      assert.ok(cookie.attributes.has('httponly'));
      assert.equal(cookie.attributes.get('samesite'), 'Lax');
      assert.equal(cookie.attributes.get('path'), '/');
      assert.equal(cookie.attributes.has('domain'), false);
      const me = await client.get('/me');
      assert.equal(me.status, 200);
      assert.equal(me.json.user.username, 'alice');
    });

    test('login issues a fresh token even when the request carried a valid one (fixation)', async () => {
      const client = await signedIn();
      const before = client.cookies.get(SESSION_COOKIE);
      const response = await client.post('/login', {
        json: { username: 'alice', password: 'alice-password' },
      });
      assert.equal(response.status, 200);
      const after = client.cookies.get(SESSION_COOKIE);
      assert.ok(before && after);
      assert.notEqual(after, before);
      const replay = await new Client(app.url).get('/me', {
        headers: { cookie: `${SESSION_COOKIE}=${before}` },
      });
      assert.equal(replay.status, 401, 'the pre-login token is dead');
    });

    test('a token planted by an attacker before login is never adopted', async () => {
      const planted = `${'A'.repeat(42)}A`;
      const client = new Client(app.url);
      client.cookies.set(SESSION_COOKIE, planted);
      await client.post('/login', { json: { username: 'alice', password: 'alice-password' } });
      assert.notEqual(client.cookies.get(SESSION_COOKIE), planted);
      assert.equal((await client.get('/me')).status, 200);
    });

    test('no cookie → 401 unauthenticated', async () => {
      const response = await new Client(app.url).get('/me');
      assert.equal(response.status, 401);
      assert.equal(response.json.error.code, 'unauthenticated');
    });

    test('a garbage or unknown token → 401, the cookie is cleared, and the store is not written', async () => {
      for (const value of ['garbage', 'x'.repeat(43), `${'B'.repeat(42)}A`]) {
        counting.reset();
        const response = await new Client(app.url).get('/me', {
          headers: { cookie: `${SESSION_COOKIE}=${value}` },
        });
        assert.equal(response.status, 401, value);
        const cleared = parseSetCookie(response.setCookies[0] ?? '');
        assert.equal(cleared.name, SESSION_COOKIE);
        assert.equal(cleared.attributes.get('max-age'), '0');
        assert.equal(counting.writes(), 0, `no store write for ${value}`);
      }
    });

    test('two session cookies in one request are refused, not guessed between', async () => {
      const client = await signedIn();
      const token = client.cookies.get(SESSION_COOKIE);
      const response = await new Client(app.url).get('/me', {
        headers: { cookie: `${SESSION_COOKIE}=${token}; ${SESSION_COOKIE}=${token}` },
      });
      assert.equal(response.status, 401);
      assert.match(response.json.error.message, /two session cookies/);
    });

    test('session data persists between requests and an unchanged session is not written', async () => {
      const client = await signedIn();
      assert.equal((await client.post('/data', { json: { key: 'theme', value: 'dark' } })).status, 200);
      counting.reset();
      const me = await client.get('/me');
      assert.deepEqual(me.json.data, { theme: 'dark' });
      assert.equal(counting.writes(), 0, 'a read-only request within the touch interval writes nothing');
      assert.equal(counting.reads(), 1, 'one store read per request');
    });

    test('concurrent requests writing different keys of one session lose nothing', async () => {
      const client = await signedIn();
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      const responses = await Promise.all(
        keys.map((key, i) => client.post('/data', { json: { key, value: i } })),
      );
      assert.ok(responses.every((response) => response.status === 200));
      const data = (await client.get('/me')).json.data;
      for (const [i, key] of keys.entries()) assert.equal(data[key], i, `${key} was lost`);
    });

    test('session data over the size limit → 413 and nothing is saved', async () => {
      const client = await signedIn();
      const response = await client.post('/data', { json: { key: 'big', value: 'x'.repeat(2000) } });
      assert.equal(response.status, 413);
      assert.equal(response.json.error.code, 'session_data_too_large');
      assert.equal((await client.get('/me')).json.data.big, undefined);
    });

    test('logout deletes the session; replaying the old cookie → 401', async () => {
      const client = await signedIn();
      const token = client.cookies.get(SESSION_COOKIE);
      const response = await client.post('/logout');
      assert.equal(response.status, 200);
      const cleared = parseSetCookie(response.setCookies.at(-1) ?? '');
      assert.equal(cleared.name, SESSION_COOKIE);
      assert.equal(cleared.attributes.get('max-age'), '0');
      assert.equal(cleared.attributes.get('path'), '/');
      const replay = await new Client(app.url).get('/me', {
        headers: { cookie: `${SESSION_COOKIE}=${token}` },
      });
      assert.equal(replay.status, 401);
      assert.deepEqual(await keycard.logins.listForUser(alice.id), []);
    });

    test('regenerate moves the session to a new token and keeps its data', async () => {
      const client = await signedIn();
      await client.post('/data', { json: { key: 'cart', value: [1, 2] } });
      const before = client.cookies.get(SESSION_COOKIE);
      assert.equal((await client.post('/regenerate')).status, 200);
      const after = client.cookies.get(SESSION_COOKIE);
      assert.notEqual(after, before);
      assert.deepEqual((await client.get('/me')).json.data.cart, [1, 2]);
      const replay = await new Client(app.url).get('/me', {
        headers: { cookie: `${SESSION_COOKIE}=${before}` },
      });
      assert.equal(replay.status, 401);
    });

    test('a cross-site unsafe request with the session cookie → 403 and changes nothing', async () => {
      const client = await signedIn();
      const attacks: Record<string, string>[] = [
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: 'https://evil.example' },
        { origin: 'null' },
      ];
      for (const headers of attacks) {
        const response = await client.post('/data', { json: { key: 'evil', value: 1 }, headers });
        assert.equal(response.status, 403, JSON.stringify(headers));
        assert.equal(response.json.error.code, 'cross_site_request');
      }
      const logout = await client.post('/logout', { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(logout.status, 403);
      const me = await client.get('/me');
      assert.equal(me.status, 200, 'the session survived');
      assert.equal(me.json.data.evil, undefined);
    });

    test('same-origin browser requests need the login’s CSRF token; header-less (non-browser) ones do not', async () => {
      const client = await signedIn();
      const host = new URL(app.url).host;
      const missing = await client.post('/data', {
        json: { key: 'a', value: 1 },
        headers: { 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(missing.status, 403);
      assert.equal(missing.json.error.code, 'csrf_rejected');
      const { token } = (await client.get('/auth/csrf')).json;
      const withToken = await client.post('/data', {
        json: { key: 'a', value: 1 },
        headers: { 'sec-fetch-site': 'same-origin', 'x-csrf-token': token },
      });
      assert.equal(withToken.status, 200);
      const withOrigin = await client.post('/data', {
        json: { key: 'b', value: 2 },
        headers: { origin: `http://${host}`, 'x-csrf-token': token },
      });
      assert.equal(withOrigin.status, 200);
      assert.equal(
        (await client.post('/data', { json: { key: 'c', value: 3 } })).status,
        200,
        'curl-like: no token needed',
      );
      const data = (await client.get('/me')).json.data;
      assert.deepEqual([data.a, data.b, data.c], [1, 2, 3]);
    });

    test('a CSRF token of another login, or a forged one, is refused', async () => {
      const mine = await signedIn();
      const other = await signedIn('bob', 'bob-password-1');
      const theirs = (await other.get('/auth/csrf')).json.token as string;
      const headers = (token: string) => ({ 'sec-fetch-site': 'same-origin', 'x-csrf-token': token });
      for (const token of [theirs, 'x', `${theirs.slice(0, 25)}${'A'.repeat(43)}`]) {
        const response = await mine.post('/data', {
          json: { key: 'evil', value: 1 },
          headers: headers(token),
        });
        assert.equal(response.status, 403, token);
        assert.equal(response.json.error.code, 'csrf_rejected');
      }
      assert.equal((await mine.get('/me')).json.data.evil, undefined);
    });

    test('a browser login needs a pre-login CSRF token; naive double submit does not work', async () => {
      const browser = new Client(app.url);
      const credentials = { username: 'alice', password: 'alice-password' };
      const refused = await browser.post('/login', {
        json: credentials,
        headers: { 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, 'csrf_rejected');
      // An attacker who can plant a cookie still cannot mint a token for it.
      browser.cookies.set('keycard_csrf', 'A'.repeat(22));
      const planted = await browser.post('/login', {
        json: credentials,
        headers: { 'sec-fetch-site': 'same-origin', 'x-csrf-token': `${'A'.repeat(24)}.${'A'.repeat(43)}` },
      });
      assert.equal(planted.status, 403);
      browser.cookies.delete('keycard_csrf');
      const { token } = (await browser.get('/auth/csrf')).json;
      assert.ok(browser.cookies.get('keycard_csrf'), 'the pre-login cookie is set');
      const ok = await browser.post('/login', {
        json: credentials,
        headers: { 'sec-fetch-site': 'same-origin', 'x-csrf-token': token },
      });
      assert.equal(ok.status, 200, ok.text);
    });

    test('the CSRF route: no-store, bound to the pre-login cookie before login and to the login after', async () => {
      const browser = new Client(app.url);
      const page = { 'sec-fetch-site': 'same-origin' };
      const before = await browser.get('/auth/csrf');
      assert.equal(before.status, 200);
      assert.equal(before.headers['cache-control'], 'no-store');
      assert.equal(typeof before.json.token, 'string');
      const login = await browser.post('/login', {
        json: { username: 'alice', password: 'alice-password' },
        headers: { ...page, 'x-csrf-token': before.json.token },
      });
      assert.equal(login.status, 200, login.text);
      // The pre-login token does not carry over to the login (it was bound to the pre-login cookie).
      const stale = await browser.post('/data', {
        json: { key: 'a', value: 1 },
        headers: { ...page, 'x-csrf-token': before.json.token },
      });
      assert.equal(stale.status, 403);
      assert.equal(stale.json.error.code, 'csrf_rejected');
      const after = (await browser.get('/auth/csrf')).json.token;
      assert.notEqual(after, before.json.token);
      const logout = await browser.post('/logout', { headers: { ...page, 'x-csrf-token': after } });
      assert.equal(logout.status, 200);
      assert.equal((await browser.get('/me')).status, 401);
    });

    // guards: an app's malformed or oversized body gets keycard's JSON error, not the framework's page
    test('malformed, oversized or incomplete bodies get JSON errors with the right status', async () => {
      const client = new Client(app.url);
      const json = { 'content-type': 'application/json' };
      const malformed = await client.post('/login', { body: '{"username": "alice",', headers: json });
      assert.equal(malformed.status, 400, malformed.text);
      assert.equal(malformed.json.error.code, 'invalid_request');
      assert.doesNotMatch(malformed.text, /alice/, 'the body is not quoted back');
      const large = await client.post('/login', {
        json: { username: 'alice', password: 'p'.repeat(20_000) },
      });
      assert.equal(large.status, 413, large.text);
      assert.equal(large.json.error.code, 'payload_too_large');
      assert.match(large.json.error.message, /16384 bytes/);
      for (const [body, field] of [
        [{ password: 'alice-password' }, 'username'],
        [{ username: 'alice', password: 42 }, 'password'],
        [{ username: 'alice', password: 'p'.repeat(4097) }, 'password'],
      ] as const) {
        const refused = await client.post('/login', { json: body });
        assert.equal(refused.status, 400, refused.text);
        assert.equal(refused.json.error.code, 'invalid_request');
        assert.equal(refused.json.error.field, field);
      }
      assert.equal((await client.get('/me')).status, 401, 'the app still answers');
    });

    test('a login form may carry its pre-login CSRF token in the `_csrf` body field', async () => {
      const browser = new Client(app.url);
      const { token } = (await browser.get('/auth/csrf')).json;
      const ok = await browser.post('/login', {
        json: { username: 'alice', password: 'alice-password', _csrf: token },
        headers: { 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(ok.status, 200, ok.text);
      const forged = await new Client(app.url).post('/login', {
        json: { username: 'alice', password: 'alice-password', _csrf: token },
        headers: { 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(forged.status, 403, 'the token is bound to the pre-login cookie it came with');
    });

    test('a cross-site GET with the cookie is allowed (safe methods change nothing)', async () => {
      const client = await signedIn();
      assert.equal((await client.get('/me', { headers: { 'sec-fetch-site': 'cross-site' } })).status, 200);
    });

    test('requireRole: 401 signed out, 403 for the wrong role, 200 for the role', async () => {
      assert.equal((await new Client(app.url).get('/admin')).status, 401);
      const bob = await signedIn('bob', 'bob-password-1');
      const forbidden = await bob.get('/admin');
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.json.error.code, 'forbidden');
      const admin = await signedIn();
      assert.equal((await admin.get('/admin')).status, 200);
    });

    test('wrong password and unknown user get the same status and body', async () => {
      const wrong = await new Client(app.url).post('/login', {
        json: { username: 'alice', password: 'nope-nope' },
      });
      const unknown = await new Client(app.url).post('/login', {
        json: { username: 'nobody', password: 'nope-nope' },
      });
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, wrong.status);
      assert.deepEqual(unknown.json, wrong.json);
      assert.equal(wrong.setCookies.length, 0);
    });

    test('data written before login starts an anonymous session that login carries over under a new token', async () => {
      const client = new Client(app.url);
      assert.equal((await client.post('/data', { json: { key: 'cart', value: ['book'] } })).status, 200);
      const anonymous = client.cookies.get(SESSION_COOKIE);
      assert.ok(anonymous, 'an anonymous session cookie was set');
      await client.post('/login', { json: { username: 'alice', password: 'alice-password' } });
      assert.notEqual(client.cookies.get(SESSION_COOKIE), anonymous);
      assert.deepEqual((await client.get('/me')).json.data.cart, ['book']);
    });

    test('idle expiry ends a session; activity within the timeout keeps it alive', async () => {
      const client = await signedIn();
      clock.advance(50 * 60_000);
      assert.equal((await client.get('/me')).status, 200, 'active within the hour');
      clock.advance(50 * 60_000);
      assert.equal((await client.get('/me')).status, 200, 'the touch extended it');
      clock.advance(61 * 60_000);
      const expired = await client.get('/me');
      assert.equal(expired.status, 401);
      assert.match(expired.json.error.message, /expired/);
    });
  });
}
