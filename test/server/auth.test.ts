/**
 * The server's session-strategy auth API over real HTTP, on its default SQLite store, with an injected
 * clock for expiry.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { Client, parseSetCookie, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const COOKIE = 'keycard_session';

describe('server: session strategy', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let counting: CountingStore;
  let aliceId: string;

  before(async () => {
    // The store is wrapped so tests can count its reads and writes; it is the real SQLite store.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/keycard-auth-`);
    counting = countingStore(new SQLiteStore({ path: `${dir}/keycard.db`, clock }));
    server = await startTestServer({ clock, store: counting.store });
    aliceId = (
      await server.keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' })
    ).id;
    await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await server.keycard.logins.destroyAllForUser(aliceId);
  });

  async function login(client = new Client(server.url), username = 'alice', password = 'alice-password') {
    const response = await client.post('/auth/login', { json: { username, password } });
    assert.equal(response.status, 200, response.text);
    return { client, response };
  }

  test('the README flow: login → me → logout → replay is refused', async () => {
    const { client, response } = await login();
    assert.deepEqual(Object.keys(response.json).sort(), ['csrf_token', 'session', 'user']);
    assert.equal(response.json.user.username, 'alice');
    assert.equal(response.json.user.role, 'admin');
    assert.equal(response.json.user.passwordHash, undefined);
    const cookie = parseSetCookie(response.setCookies[0] ?? '');
    assert.equal(cookie.name, COOKIE);
    assert.ok(cookie.attributes.has('httponly'));
    assert.equal(cookie.attributes.get('samesite'), 'Lax');
    assert.equal(cookie.attributes.get('path'), '/');
    assert.equal(cookie.attributes.has('secure'), false, 'plain-http localhost');

    const me = await client.get('/auth/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.user.id, aliceId);
    assert.equal(me.json.session.id, response.json.session.id);

    const anonymous = await new Client(server.url).get('/auth/me');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error.code, 'unauthenticated');

    const token = client.cookies.get(COOKIE);
    assert.equal((await client.post('/auth/logout')).status, 200);
    assert.equal(await server.store.getLogin(response.json.session.id), null, 'the record is gone');
    const replay = await request(server.url, 'GET', '/auth/me', {}, `${COOKIE}=${token}`);
    assert.equal(replay.status, 401);
  });

  test('outside plain-http localhost the cookie is Secure with the __Host- prefix', async () => {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
      headers: { host: 'auth.example.com' },
    });
    assert.equal(response.status, 200);
    const cookie = parseSetCookie(response.setCookies[0] ?? '');
    assert.equal(cookie.name, `__Host-${COOKIE}`);
    assert.ok(cookie.attributes.has('secure'));
    assert.equal(cookie.attributes.has('domain'), false);
    const me = await request(
      server.url,
      'GET',
      '/auth/me',
      { headers: { host: 'auth.example.com' } },
      `__Host-${COOKIE}=${cookie.value}`,
    );
    assert.equal(me.status, 200);
  });

  test('login sets a fresh token even when the request carried a valid one (fixation)', async () => {
    const { client } = await login();
    const first = client.cookies.get(COOKIE);
    await login(client);
    const second = client.cookies.get(COOKIE);
    assert.ok(first && second && first !== second);
    assert.equal((await request(server.url, 'GET', '/auth/me', {}, `${COOKIE}=${first}`)).status, 401);
    assert.equal((await server.keycard.logins.listForUser(aliceId)).length, 1);
  });

  test('wrong password and unknown user give the identical status and body', async () => {
    const wrong = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'wrong-password' },
    });
    const unknown = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'mallory', password: 'wrong-password' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(unknown.text, wrong.text);
    assert.equal(wrong.json.error.code, 'invalid_credentials');
    assert.equal(wrong.setCookies.length + unknown.setCookies.length, 0);
  });

  test('malformed input gets 400 naming the problem; nothing is created', async () => {
    const cases: [string, Parameters<typeof request>[3], RegExp, string?][] = [
      [
        'malformed JSON',
        { body: '{"username": "alice",', headers: { 'content-type': 'application/json' } },
        /not valid JSON/,
      ],
      ['empty JSON body', { body: '', headers: { 'content-type': 'application/json' } }, /empty/],
      ['no body', {}, /username, password and remember/],
      ['array body', { json: ['alice'] }, /object/],
      ['missing username', { json: { password: 'x' } }, /username is required/, 'username'],
      ['missing password', { json: { username: 'alice' } }, /password is required/, 'password'],
      [
        'non-string password',
        { json: { username: 'alice', password: 12345678 } },
        /password must be a string/,
        'password',
      ],
      [
        'overlong username',
        { json: { username: 'a'.repeat(300), password: 'x' } },
        /at most 256/,
        'username',
      ],
      [
        '__proto__ key',
        {
          body: '{"username":"a","password":"b","__proto__":{"x":1}}',
          headers: { 'content-type': 'application/json' },
        },
        /forbidden key/,
      ],
      [
        'repeated form field',
        {
          body: 'username=a&username=b&password=c',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        },
        /appears twice/,
      ],
    ];
    for (const [name, options, message, field] of cases) {
      const response = await request(server.url, 'POST', '/auth/login', options);
      if (name === 'repeated form field') {
        assert.equal(response.status, 400, name);
        assert.match(response.text, message, name);
        continue;
      }
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.equal(response.json.error.code, 'invalid_request', name);
      assert.match(response.json.error.message, message, name);
      if (field) assert.equal(response.json.error.field, field, name);
    }
    assert.equal((await server.keycard.logins.listForUser(aliceId)).length, 0);
  });

  test('a body over the limit gets 413; an unsupported content type (text/plain too) gets 415', async () => {
    const big = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'x'.repeat(20_000) },
    });
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'payload_too_large');
    const xml = await request(server.url, 'POST', '/auth/login', {
      body: '<login/>',
      headers: { 'content-type': 'application/xml' },
    });
    assert.equal(xml.status, 415);
    assert.equal(xml.json.error.code, 'unsupported_media_type');
    // guards: Fastify's built-in text/plain parser, which handed the route a string (400, not 415)
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'TEXT/PLAIN']) {
      const text = await request(server.url, 'POST', '/auth/login', {
        body: '{"username":"alice","password":"alice-password"}',
        headers: { 'content-type': type },
      });
      assert.equal(text.status, 415, type);
      assert.deepEqual(text.json, {
        error: {
          code: 'unsupported_media_type',
          message: 'send the body as application/json or application/x-www-form-urlencoded',
        },
      });
      assert.equal(text.setCookies.length, 0);
    }
  });

  test('a garbage or unknown cookie gets 401 with no store write', async () => {
    for (const value of ['garbage', '%00%ff', 'A'.repeat(43), 'A'.repeat(4000)]) {
      counting.reset();
      const response = await request(server.url, 'GET', '/auth/me', {}, `${COOKIE}=${value}`);
      assert.equal(response.status, 401, value);
      assert.equal(counting.writes(), 0, value);
    }
  });

  test('idle expiry ends a session', async () => {
    const { client } = await login();
    clock.advanceSeconds(24 * 3600 + 1);
    const response = await client.get('/auth/me');
    assert.equal(response.status, 401);
    assert.match(response.json.error.message, /expired/);
  });

  test('absolute expiry ends a session however active it is', async () => {
    const { client } = await login();
    for (let day = 0; day < 7; day++) {
      clock.advanceSeconds(23 * 3600);
      assert.equal((await client.get('/auth/me')).status, 200, `day ${day}`);
    }
    clock.advanceSeconds(8 * 3600); // 169 hours since login: past the 7-day absolute timeout, within idle
    assert.equal((await client.get('/auth/me')).status, 401);
  });

  test('activity is written back only when due (a tenth of the idle timeout)', async () => {
    const { client } = await login();
    counting.reset();
    for (let i = 0; i < 5; i++) {
      clock.advanceSeconds(60);
      assert.equal((await client.get('/auth/me')).status, 200);
    }
    assert.equal(counting.writes(), 0, 'five requests within 2.4 hours: no write');
    assert.equal(counting.counts.get('getLogin'), 5, 'one read per request');
    clock.advanceSeconds(3 * 3600);
    await client.get('/auth/me');
    assert.equal(counting.counts.get('touchLogin'), 1, 'the touch is written once it is due');
    assert.equal(counting.writes(), 1);
    await client.get('/auth/me');
    assert.equal(counting.writes(), 1, 'and not again right after');
  });

  test('lists my sessions, revokes one, and logs out everywhere else', async () => {
    const { client: laptop } = await login();
    const { client: phone } = await login();
    const { client: tablet } = await login();
    const list = await laptop.get('/auth/sessions');
    assert.equal(list.status, 200);
    assert.equal(list.json.sessions.length, 3);
    assert.equal(list.json.sessions.filter((s: { current: boolean }) => s.current).length, 1);
    const phoneId = (await phone.get('/auth/me')).json.session.id;
    assert.equal((await laptop.delete(`/auth/sessions/${phoneId}`)).status, 200);
    assert.equal((await phone.get('/auth/me')).status, 401);
    assert.equal((await laptop.delete(`/auth/sessions/${phoneId}`)).status, 404);
    assert.equal((await laptop.delete('/auth/sessions/not-an-id!')).status, 400);
    const all = await laptop.post('/auth/logout-all', { json: { keepCurrent: true } });
    assert.equal(all.status, 200);
    assert.equal(all.json.revoked, 1);
    assert.equal((await tablet.get('/auth/me')).status, 401);
    assert.equal((await laptop.get('/auth/me')).status, 200);
    await laptop.post('/auth/logout-all');
    assert.equal((await laptop.get('/auth/me')).status, 401);
  });

  test('I cannot revoke another user’s session by id', async () => {
    const { client: alice } = await login();
    const { client: bob } = await login(new Client(server.url), 'bob', 'bob-password');
    const bobSession = (await bob.get('/auth/me')).json.session.id;
    assert.equal((await alice.delete(`/auth/sessions/${bobSession}`)).status, 404);
    assert.equal((await bob.get('/auth/me')).status, 200);
  });

  test('a cross-site login is refused (login CSRF); a cross-site logout with the cookie too', async () => {
    const cross = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(cross.status, 403);
    assert.equal(cross.json.error.code, 'cross_site_request');
    assert.equal(cross.setCookies.length, 0);
    const { client } = await login();
    const logout = await client.post('/auth/logout', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(logout.status, 403);
    assert.equal((await client.get('/auth/me')).status, 200);
  });

  test('concurrent requests on one session all succeed with one read each and lose nothing', async () => {
    const { client } = await login();
    counting.reset();
    const responses = await Promise.all(Array.from({ length: 25 }, () => client.get('/auth/me')));
    assert.ok(responses.every((response) => response.status === 200));
    assert.equal(counting.counts.get('getLogin'), 25);
    assert.equal(counting.writes(), 0);
  });

  test('responses carrying credentials are not cached', async () => {
    const { response } = await login();
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  test('audit events are emitted without tokens or passwords', async () => {
    const { client } = await login();
    const token = client.cookies.get(COOKIE) as string;
    await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'wrong-password-123' },
    });
    const text = JSON.stringify(server.events);
    assert.ok(server.events.some((event) => event.type === 'login_succeeded'));
    assert.ok(server.events.some((event) => event.type === 'login_failed'));
    assert.equal(text.includes(token), false);
    assert.equal(text.includes('alice-password'), false);
    assert.equal(text.includes('wrong-password-123'), false);
  });
});
