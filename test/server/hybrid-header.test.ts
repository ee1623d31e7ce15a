/**
 * `keycard serve --strategy hybrid --transport header` over real HTTP on SQLite: the tokens travel in
 * the JSON body and the Authorization header (no cookies), requests are checked from memory with no
 * store round trip, and logout, revoking a device, log out everywhere, an admin block and refresh-token
 * reuse refuse the same Bearer token on the very next request (docs/hybrid.md).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { eventually } from '../helpers/eventually.js';
import { type Response, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Tokens {
  access_token: string;
  refresh_token: string;
  session: { id: string };
}

const bearer = (token: string, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  ...headers,
});

describe('server: hybrid strategy, header transport', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let counting: CountingStore;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keycard-hybrid-header-'));
    counting = countingStore(
      new SQLiteStore({ path: join(dir, 'keycard.db'), revocationPollIntervalMs: 20, clock }),
    );
    server = await startTestServer({
      clock,
      store: counting.store,
      flags: { strategy: 'hybrid', transport: 'header', keys: join(dir, 'keys.json') },
    });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await server.keycard.users.create({
        username: name,
        password: `${name}-password`,
        role: name === 'alice' ? 'admin' : 'user',
      });
    }
    await eventually(
      async () => (await request(server.url, 'GET', '/readyz')).json?.revocationFeed === 'synced',
      'the revocation feed to sync',
    );
  });
  after(async () => {
    await server?.close();
  });

  async function login(username: string): Promise<Tokens & { response: Response }> {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username, password: `${username}-password` },
    });
    assert.equal(response.status, 200, response.text);
    return { ...response.json, response };
  }

  const me = (access: string, headers?: Record<string, string>) =>
    request(server.url, 'GET', '/auth/me', { headers: bearer(access, headers) });
  const refresh = (token: string) =>
    request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: token } });

  function assertRevoked(response: Response, what: string): void {
    assert.equal(response.status, 401, `${what}: ${response.text}`);
    assert.equal(response.json.error.code, 'unauthenticated');
    assert.match(response.json.error.message, /revoked/, what);
  }

  test('the configuration is the hybrid strategy with the header transport', () => {
    assert.equal(server.keycard.options.strategy, 'hybrid');
    assert.equal(server.keycard.options.jwt?.transport, 'header');
    assert.ok(server.keycard.revocations, 'a revocation monitor runs');
  });

  test('login answers the tokens in the JSON body and sets no cookie', async () => {
    const { response } = await login('bob');
    assert.equal(response.setCookies.length, 0);
    assert.equal(response.json.token_type, 'Bearer');
    assert.equal(response.json.expires_in, 900);
    assert.match(response.json.refresh_token, /^[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]{43}$/);
    assert.equal(typeof response.json.refresh_expires_in, 'number');
    assert.equal(response.json.csrf_token, undefined, 'no cookies, so no CSRF token');
    const payload = JSON.parse(
      Buffer.from((response.json.access_token as string).split('.')[1] ?? '', 'base64url').toString(),
    );
    assert.equal(payload.sid, response.json.session.id);
    assert.equal(payload.sub, response.json.user.id);
  });

  test('a Bearer request is accepted with no store round trip; unsafe Bearer requests need no CSRF token', async () => {
    const tokens = await login('bob');
    const accepted = await me(tokens.access_token);
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal(accepted.json.user.username, 'bob');
    assert.equal(accepted.json.session.id, tokens.session.id);
    counting.reset();
    // GET /auth/verify (forward auth) answers from the verified token and the in-memory list alone.
    for (let i = 0; i < 10; i++) {
      const verified = await request(server.url, 'GET', '/auth/verify', {
        headers: bearer(tokens.access_token),
      });
      assert.equal(verified.status, 200);
      assert.equal(verified.headers['x-keycard-username'], 'bob');
    }
    assert.deepEqual([...counting.counts], [], 'no store call of any kind');
    assert.equal((await request(server.url, 'GET', '/auth/verify')).status, 401, 'no token → 401');
    // A Bearer token is not ambient authority: a browser-looking request needs no Origin or CSRF token.
    const keep = await request(server.url, 'POST', '/auth/logout-all', {
      json: { keepCurrent: true },
      headers: bearer(tokens.access_token, {
        'sec-fetch-site': 'same-origin',
        origin: 'https://other.example',
      }),
    });
    assert.equal(keep.status, 200, keep.text);
  });

  test('logout refuses the same Bearer token on the next request and kills the refresh token', async () => {
    const tokens = await login('carol');
    assert.equal((await me(tokens.access_token)).status, 200);
    const out = await request(server.url, 'POST', '/auth/logout', { headers: bearer(tokens.access_token) });
    assert.equal(out.status, 200, out.text);
    assertRevoked(await me(tokens.access_token), 'after logout');
    const dead = await refresh(tokens.refresh_token);
    assert.equal(dead.status, 401);
    assert.equal(dead.json.error.code, 'token_invalid');
  });

  test('revoking a device, or keycard.logins, refuses that device’s Bearer token at once', async () => {
    const laptop = await login('dave');
    const phone = await login('dave');
    const tablet = await login('dave');
    const revoked = await request(server.url, 'DELETE', `/auth/sessions/${phone.session.id}`, {
      headers: bearer(laptop.access_token),
    });
    assert.equal(revoked.status, 200, revoked.text);
    assertRevoked(await me(phone.access_token), 'the revoked device');
    assert.equal((await me(laptop.access_token)).status, 200, 'the other devices stay');
    assert.equal(await server.keycard.logins.destroy(tablet.session.id), true);
    assertRevoked(await me(tablet.access_token), 'revoked with keycard.logins');
    assert.equal((await me(laptop.access_token)).status, 200);
  });

  test('log out everywhere and an admin block refuse every Bearer token of the user', async () => {
    const erinA = await login('erin');
    const erinB = await login('erin');
    const all = await request(server.url, 'POST', '/auth/logout-all', {
      headers: bearer(erinA.access_token),
    });
    assert.equal(all.status, 200, all.text);
    assertRevoked(await me(erinA.access_token), 'this device');
    assertRevoked(await me(erinB.access_token), 'the other device');

    // A user-wide cut-off also refuses tokens issued in its second (docs/hybrid.md): log in after it.
    clock.advanceSeconds(2);
    const admin = await login('alice');
    const bob = await login('bob');
    assert.equal((await me(bob.access_token)).status, 200);
    const blocked = await request(
      server.url,
      'POST',
      `/auth/admin/users/${bob.response.json.user.id}/block`,
      {
        headers: bearer(admin.access_token),
      },
    );
    assert.equal(blocked.status, 200, blocked.text);
    assertRevoked(await me(bob.access_token), 'the blocked user');
    const unblocked = await request(
      server.url,
      'POST',
      `/auth/admin/users/${bob.response.json.user.id}/unblock`,
      { headers: bearer(admin.access_token) },
    );
    assert.equal(unblocked.status, 200, unblocked.text);
  });

  test('refresh rotates: the new tokens work; the spent refresh token revokes the login', async () => {
    const first = await login('alice');
    const rotated = await refresh(first.refresh_token);
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(rotated.setCookies.length, 0);
    assert.equal(rotated.json.token_type, 'Bearer');
    const second = rotated.json as Tokens;
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.access_token, first.access_token);
    const accepted = await me(second.access_token);
    assert.equal(accepted.status, 200);
    assert.equal(accepted.json.session.id, first.session.id, 'the same login');
    const again = await refresh(second.refresh_token);
    assert.equal(again.status, 200, 'the new refresh token works in turn');
    const third = again.json as Tokens;
    // Past the 15 s grace window the spent token is taken for a stolen one: the login ends.
    clock.advanceSeconds(16);
    const reused = await refresh(first.refresh_token);
    assert.equal(reused.status, 401);
    assert.equal(reused.json.error.code, 'refresh_token_reused');
    assertRevoked(await me(third.access_token), 'the live access token after reuse');
    const dead = await refresh(third.refresh_token);
    assert.equal(dead.status, 401);
    assert.equal(dead.json.error.code, 'token_invalid');
  });
});
