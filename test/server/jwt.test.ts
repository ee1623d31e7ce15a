/**
 * The server in the jwt strategy, over real HTTP: both transports, refresh rotation with the race and
 * the reuse cases, logout, JWKS and key rotation without a restart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { parseKeyFile, rotateKeyFile, writeKeyFile } from '../../src/server/keys.js';
import { openStore } from '../../src/stores/url.js';
import { ManualClock } from '../helpers/clock.js';
import { Client, parseSetCookie, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { POSTGRES_URL, REDIS_URL, serviceSkipReason, uniqueName } from '../helpers/services.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('server: jwt strategy, header transport (api preset)', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ clock, flags: { preset: 'api' }, keyReloadIntervalMs: 30 });
    await server.keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
  });
  after(async () => {
    await server?.close();
  });

  async function login() {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(response.status, 200, response.text);
    return response.json as {
      access_token: string;
      refresh_token: string;
      expires_in: number;
      token_type: string;
      session: { id: string };
    };
  }

  test('login returns tokens in the body and sets no cookie', async () => {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.setCookies.length, 0);
    assert.equal(response.json.token_type, 'Bearer');
    assert.equal(response.json.expires_in, 900);
    assert.match(response.json.refresh_token, /^[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]{43}$/);
    const [header, payload] = (response.json.access_token as string)
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    assert.equal(payload.sub, response.json.user.id);
    assert.equal(payload.sid, response.json.session.id);
    assert.equal(payload.role, 'admin');
    assert.equal(payload.exp - payload.iat, 900);
    for (const claim of ['iss', 'aud', 'jti']) assert.ok(payload[claim], claim);
  });

  test('a Bearer token authenticates; none, a malformed header or a tampered token → 401', async () => {
    const tokens = await login();
    const me = await request(server.url, 'GET', '/auth/me', { headers: bearer(tokens.access_token) });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.username, 'alice');
    assert.equal(me.json.session.id, tokens.session.id);
    assert.equal((await request(server.url, 'GET', '/auth/me')).status, 401);
    assert.equal(
      (
        await request(server.url, 'GET', '/auth/me', {
          headers: { authorization: `Basic ${tokens.access_token}` },
        })
      ).status,
      401,
    );
    const tail = tokens.access_token.slice(-3) === 'AAA' ? 'BBB' : 'AAA';
    const tampered = `${tokens.access_token.slice(0, -3)}${tail}`;
    const refused = await request(server.url, 'GET', '/auth/me', { headers: bearer(tampered) });
    assert.equal(refused.status, 401);
    assert.equal(refused.text.includes(tampered), false, 'the token is never echoed');
  });

  test('an expired access token → 401 saying so; refresh gives a working pair', async () => {
    const tokens = await login();
    clock.advanceSeconds(15 * 60 + 11);
    const expired = await request(server.url, 'GET', '/auth/me', { headers: bearer(tokens.access_token) });
    assert.equal(expired.status, 401);
    assert.match(expired.json.error.message, /expired/);
    const refreshed = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: tokens.refresh_token },
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.notEqual(refreshed.json.refresh_token, tokens.refresh_token);
    assert.equal(
      (await request(server.url, 'GET', '/auth/me', { headers: bearer(refreshed.json.access_token) })).status,
      200,
    );
  });

  test('two tabs refreshing at once both end up with a working token (grace window)', async () => {
    const tokens = await login();
    const [a, b] = await Promise.all([
      request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: tokens.refresh_token } }),
      request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: tokens.refresh_token } }),
    ]);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.equal(a.json.refresh_token, b.json.refresh_token, 'the same successor');
    for (const response of [a, b]) {
      assert.equal(
        (await request(server.url, 'GET', '/auth/me', { headers: bearer(response.json.access_token) }))
          .status,
        200,
      );
    }
    const next = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: a.json.refresh_token },
    });
    assert.equal(next.status, 200);
  });

  test('a refresh token reused after the grace window revokes the whole login', async () => {
    const tokens = await login();
    const first = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: tokens.refresh_token },
    });
    assert.equal(first.status, 200);
    clock.advanceSeconds(16);
    const replay = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: tokens.refresh_token },
    });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, 'refresh_token_reused');
    const honest = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: first.json.refresh_token },
    });
    assert.equal(honest.status, 401, 'the successor died with the family');
    assert.equal(await server.store.getLogin(tokens.session.id), null);
    assert.ok(
      server.events.some(
        (event) => event.type === 'refresh_token_reused' && event.sessionId === tokens.session.id,
      ),
    );
  });

  test('garbage refresh tokens → 401 token_invalid', async () => {
    for (const refresh_token of ['x', 'A'.repeat(43), 'A'.repeat(600)]) {
      const response = await request(server.url, 'POST', '/auth/refresh', { json: { refresh_token } });
      assert.ok(
        response.status === 401 || response.status === 400,
        `${refresh_token.length}: ${response.status}`,
      );
    }
    const missing = await request(server.url, 'POST', '/auth/refresh', { json: {} });
    assert.equal(missing.status, 401);
    assert.equal(missing.json.error.code, 'token_invalid');
  });

  test('logout ends the login even with an expired access token; its refresh token dies', async () => {
    const tokens = await login();
    clock.advanceSeconds(20 * 60);
    const out = await request(server.url, 'POST', '/auth/logout', { headers: bearer(tokens.access_token) });
    assert.equal(out.status, 200);
    assert.equal(await server.store.getLogin(tokens.session.id), null);
    const refresh = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: tokens.refresh_token },
    });
    assert.equal(refresh.status, 401);
  });

  test('a blocked user cannot refresh; the access token lives until it expires (the jwt trade-off)', async () => {
    const user = await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'bob', password: 'bob-password' },
    });
    await server.keycard.users.block(user.id);
    assert.equal(
      (await request(server.url, 'GET', '/auth/me', { headers: bearer(response.json.access_token) })).status,
      200,
    );
    const refresh = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: response.json.refresh_token },
    });
    assert.equal(refresh.status, 401);
    clock.advanceSeconds(15 * 60 + 11);
    assert.equal(
      (await request(server.url, 'GET', '/auth/me', { headers: bearer(response.json.access_token) })).status,
      401,
    );
  });

  test('the JWKS has public members only, and a verifier using it accepts our tokens', async () => {
    const jwks = await request(server.url, 'GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    for (const key of jwks.json.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        assert.equal(key[member], undefined, member);
      assert.equal(key.use, 'sig');
    }
    const tokens = await login();
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks.json), {
      issuer: 'keycard',
      audience: 'keycard',
      typ: 'at+jwt',
      currentDate: new Date(clock.now()),
    });
    assert.equal(payload.sid, tokens.session.id);
  });

  test('keys rotate without a restart: new tokens use the new key, old ones still verify', async () => {
    const path = join(server.dir, 'keys.json');
    const before = await login();
    const oldKid = JSON.parse(
      Buffer.from(before.access_token.split('.')[0] as string, 'base64url').toString(),
    ).kid;
    const { file, added } = rotateKeyFile(parseKeyFile(path, readFileSync(path, 'utf8')), {
      algorithm: 'ES256',
    });
    writeKeyFile(path, file);
    let kid = oldKid;
    for (let attempt = 0; attempt < 200 && kid === oldKid; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const tokens = await login();
      kid = JSON.parse(Buffer.from(tokens.access_token.split('.')[0] as string, 'base64url').toString()).kid;
    }
    assert.equal(kid, added.kid);
    assert.equal(
      (await request(server.url, 'GET', '/auth/me', { headers: bearer(before.access_token) })).status,
      200,
    );
    const kids = (await request(server.url, 'GET', '/.well-known/jwks.json')).json.keys.map(
      (key: { kid: string }) => key.kid,
    );
    assert.ok(kids.includes(oldKid) && kids.includes(added.kid));
  });
});

describe('server: jwt strategy, cookie transport', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ flags: { strategy: 'jwt', transport: 'cookie' } });
    await server.keycard.users.create({ username: 'carol', password: 'carol-password' });
  });
  after(async () => {
    await server?.close();
  });

  async function login(): Promise<Client> {
    const client = new Client(server.url);
    const response = await client.post('/auth/login', {
      json: { username: 'carol', password: 'carol-password' },
    });
    assert.equal(response.status, 200, response.text);
    return client;
  }

  test('login sets an HttpOnly access cookie for / and a refresh cookie for the refresh path only', async () => {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'carol', password: 'carol-password' },
    });
    assert.equal(response.json.access_token, undefined, 'no token in the body of a cookie login');
    const cookies = new Map(
      response.setCookies.map((header) => [parseSetCookie(header).name, parseSetCookie(header)]),
    );
    const access = cookies.get('keycard_access');
    const refresh = cookies.get('keycard_refresh');
    assert.ok(access && refresh);
    assert.equal(access.attributes.get('path'), '/');
    assert.equal(refresh.attributes.get('path'), '/auth/refresh');
    for (const cookie of [access, refresh]) {
      assert.ok(cookie.attributes.has('httponly'));
      assert.equal(cookie.attributes.get('samesite'), 'Lax');
    }
    assert.equal(access.attributes.get('max-age'), '900');
  });

  test('the access cookie authenticates; a cross-site unsafe request with it is refused', async () => {
    const client = await login();
    assert.equal((await client.get('/auth/me')).status, 200);
    const cross = await client.post('/auth/logout-all', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(cross.status, 403);
    assert.equal(cross.json.error.code, 'cross_site_request');
    assert.equal((await client.get('/auth/me')).status, 200);
  });

  test('refresh reads the refresh cookie, rotates both cookies, and refuses cross-site', async () => {
    const client = await login();
    const before = client.cookies.get('keycard_refresh');
    const cross = await client.post('/auth/refresh', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(cross.status, 403);
    const refreshed = await client.post('/auth/refresh');
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.notEqual(client.cookies.get('keycard_refresh'), before);
    assert.equal((await client.get('/auth/me')).status, 200);
  });

  test('logout clears both cookies and ends the login', async () => {
    const client = await login();
    const refresh = client.cookies.get('keycard_refresh');
    const out = await client.post('/auth/logout');
    assert.equal(out.status, 200);
    const cleared = out.setCookies
      .map(parseSetCookie)
      .filter((cookie) => cookie.attributes.get('max-age') === '0');
    assert.deepEqual(cleared.map((cookie) => cookie.name).sort(), ['keycard_access', 'keycard_refresh']);
    assert.equal(
      cleared.find((cookie) => cookie.name === 'keycard_refresh')?.attributes.get('path'),
      '/auth/refresh',
    );
    const replay = await request(server.url, 'POST', '/auth/refresh', {}, `keycard_refresh=${refresh}`);
    assert.equal(replay.status, 401);
  });

  test('my sessions list marks the current login, and revoking it logs me out', async () => {
    const client = await login();
    const list = await client.get('/auth/sessions');
    const current = list.json.sessions.find((session: { current: boolean }) => session.current);
    assert.ok(current);
    const revoke = await client.delete(`/auth/sessions/${current.id}`);
    assert.equal(revoke.json.current, true);
    assert.equal((await client.post('/auth/refresh')).status, 401);
  });
});

describe('server: jwt key file in production', () => {
  test('a missing key file, or one without signing keys, stops the start with one clear line', async () => {
    await assert.rejects(
      startTestServer({ flags: { preset: 'api', env: 'production' } }),
      /does not exist; in production keys are never generated/,
    );
  });
});

// guards: the refresh race between two tabs, on every store the server ships with
for (const [name, url] of [
  ['memory', 'memory:'],
  ['redis', `${REDIS_URL}/?prefix=${uniqueName('kcjwt')}`],
  ['postgres', `${POSTGRES_URL}?schema=${uniqueName('kcjwt')}`],
] as const) {
  describe(`server: refresh race on ${name}`, () => {
    let server: TestServer | undefined;
    let skip: string | undefined;

    before(async () => {
      if (name !== 'memory') {
        skip = await serviceSkipReason(name, async () => (await openStore(url)).close());
        if (skip) return;
      }
      server = await startTestServer({ storeURL: url, flags: { preset: 'api' } });
      await server.keycard.users.create({ username: 'tabs', password: 'tabs-password' });
    });
    after(async () => {
      await server?.close();
    });

    test('eight concurrent refreshes with one token all succeed with the same successor', async (t) => {
      if (skip || !server) return t.skip(skip);
      const url = server.url;
      const login = await request(url, 'POST', '/auth/login', {
        json: { username: 'tabs', password: 'tabs-password' },
      });
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          request(url, 'POST', '/auth/refresh', { json: { refresh_token: login.json.refresh_token } }),
        ),
      );
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(8).fill(200),
      );
      assert.equal(new Set(responses.map((response) => response.json.refresh_token)).size, 1);
      const next = await request(url, 'POST', '/auth/refresh', {
        json: { refresh_token: responses[0]?.json.refresh_token },
      });
      assert.equal(next.status, 200);
    });
  });
}
