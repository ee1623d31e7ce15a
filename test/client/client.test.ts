/**
 * keycard/client in Node against a real `keycard serve` (the api preset: jwt, header transport): login,
 * credentials on every call, one refresh for any number of concurrent calls, retry once, sign-out when the
 * login has ended, tokens kept where the app says, and clear errors for bad input. Requests are counted by
 * wrapping the client's fetch; the server is the real one.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  type ClientSession,
  createClient,
  KeycardClientError,
  type StoredTokens,
  type TokenStorage,
} from '../../src/client/index.js';
import { ManualClock } from '../helpers/clock.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ACCESS_SECONDS = 15 * 60;
/** Past the access token's expiry and the verifier's clock leeway. */
const EXPIRED = ACCESS_SECONDS + 120;

function counting(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    },
  };
}

class MemoryStorage implements TokenStorage {
  tokens: StoredTokens | null = null;
  writes = 0;
  get() {
    return this.tokens;
  }
  async set(tokens: StoredTokens | null) {
    this.writes++;
    this.tokens = tokens;
  }
}

describe('keycard/client, header transport, against keycard serve', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let bobId: string;

  before(async () => {
    server = await startTestServer({ clock, storeURL: 'memory:', flags: { preset: 'api' } });
    bobId = (await server.keycard.users.create({ username: 'bob', password: 'bob-password' })).id;
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await server.keycard.logins.destroyAllForUser(bobId);
  });

  test('login, me and fetch carry the Bearer token; onChange sees the login', async () => {
    const { fetch, calls } = counting();
    const client = createClient({ baseUrl: server.url, transport: 'header', fetch, now: () => clock.now() });
    const seen: ClientSession[] = [];
    client.onChange((session) => seen.push(session));
    const session = await client.login({ username: 'bob', password: 'bob-password' });
    assert.equal(session.user?.username, 'bob');
    assert.equal(session.accessExpiresAt, clock.now() + ACCESS_SECONDS * 1000);
    assert.deepEqual(
      seen.map((entry) => entry.user?.username),
      ['bob'],
    );
    assert.equal((await client.me())?.id, bobId);
    const response = await client.fetch('/auth/verify');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-keycard-username'), 'bob');
    assert.deepEqual(calls, ['POST /auth/login', 'GET /auth/me', 'GET /auth/verify']);
    client.close();
  });

  test('login sends remember only when the app gives it (the server defaults to persistent cookies)', async () => {
    const bodies: unknown[] = [];
    const capturing: typeof fetch = (input, init) => {
      if (new URL(String(input)).pathname === '/auth/login') bodies.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    };
    const client = createClient({ baseUrl: server.url, transport: 'header', fetch: capturing });
    await client.login({ username: 'bob', password: 'bob-password' });
    await client.login({ username: 'bob', password: 'bob-password', remember: false });
    await client.login({ username: 'bob', password: 'bob-password', remember: true });
    assert.deepEqual(bodies, [
      { username: 'bob', password: 'bob-password' },
      { username: 'bob', password: 'bob-password', remember: false },
      { username: 'bob', password: 'bob-password', remember: true },
    ]);
    client.close();
  });

  test('20 concurrent calls with an expired access token: one refresh, every call answered', async () => {
    const { fetch, calls } = counting();
    // The client's clock stays behind: it learns of the expiry from the server's 401 token_expired.
    const clientTime = clock.now();
    const client = createClient({ baseUrl: server.url, transport: 'header', fetch, now: () => clientTime });
    await client.login({ username: 'bob', password: 'bob-password' });
    clock.advanceSeconds(EXPIRED);
    calls.length = 0;
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/auth/verify')));
    assert.deepEqual(
      responses.map((response) => response.status),
      Array(20).fill(200),
    );
    assert.equal(calls.filter((call) => call === 'POST /auth/refresh').length, 1, calls.join('\n'));
    assert.equal(calls.filter((call) => call === 'GET /auth/verify').length, 40, 'each call retried once');
    client.close();
  });

  test('an access token about to expire is refreshed before the call, once for concurrent calls', async () => {
    const { fetch, calls } = counting();
    let clientTime = clock.now();
    const client = createClient({ baseUrl: server.url, transport: 'header', fetch, now: () => clientTime });
    await client.login({ username: 'bob', password: 'bob-password' });
    clientTime += (ACCESS_SECONDS - 10) * 1000; // within the 30-second margin
    clock.advanceSeconds(ACCESS_SECONDS - 10);
    calls.length = 0;
    const responses = await Promise.all(Array.from({ length: 5 }, () => client.fetch('/auth/verify')));
    assert.deepEqual(
      responses.map((response) => response.status),
      Array(5).fill(200),
    );
    assert.deepEqual(calls, ['POST /auth/refresh', ...Array(5).fill('GET /auth/verify')]);
    assert.equal(client.session.accessExpiresAt, clientTime + ACCESS_SECONDS * 1000);
    client.close();
  });

  test('a refresh that finds the login ended signs out: session cleared, storage emptied, no retry loop', async () => {
    const storage = new MemoryStorage();
    const { fetch, calls } = counting();
    const client = createClient({
      baseUrl: server.url,
      transport: 'header',
      storage,
      fetch,
      now: () => clock.now(),
    });
    const seen: (string | null)[] = [];
    client.onChange((session) => seen.push(session.user?.username ?? null));
    await client.login({ username: 'bob', password: 'bob-password' });
    assert.ok(storage.tokens?.refreshToken);
    await server.keycard.logins.destroyAllForUser(bobId); // e.g. an admin blocked the account
    clock.advanceSeconds(EXPIRED);
    calls.length = 0;
    const response = await client.fetch('/auth/verify');
    assert.equal(response.status, 401);
    // The client's clock saw the expiry: it refreshed first, then sent the call without a credential.
    assert.deepEqual(calls, ['POST /auth/refresh', 'GET /auth/verify'], 'one refresh, no retry loop');
    assert.equal(client.session.user, null);
    assert.equal(storage.tokens, null);
    assert.deepEqual(seen, ['bob', null]);
    client.close();
  });

  test('a replayed refresh token is refused by the server and ends the login for its holder too', async () => {
    const storage = new MemoryStorage();
    const client = createClient({
      baseUrl: server.url,
      transport: 'header',
      storage,
      now: () => clock.now(),
    });
    await client.login({ username: 'bob', password: 'bob-password' });
    const stolen = storage.tokens?.refreshToken as string;
    assert.equal(await client.refresh(), true);
    clock.advanceSeconds(60); // past the grace window for concurrent refreshes
    const replay = await fetch(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    assert.equal(replay.status, 401);
    assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'refresh_token_reused');
    assert.equal(await client.refresh(), false, "the rightful client's refresh token died with the family");
    assert.equal(client.session.user, null);
    client.close();
  });

  test('tokens kept in the given storage let a new client (a restarted app) carry on without a login', async () => {
    const storage = new MemoryStorage();
    const first = createClient({ baseUrl: server.url, transport: 'header', storage, now: () => clock.now() });
    await first.login({ username: 'bob', password: 'bob-password' });
    first.close();
    const second = createClient({
      baseUrl: server.url,
      transport: 'header',
      storage,
      now: () => clock.now(),
    });
    assert.equal((await second.me())?.username, 'bob');
    clock.advanceSeconds(EXPIRED);
    assert.equal((await second.fetch('/auth/verify')).status, 200, 'refreshed with the stored refresh token');
    assert.notEqual(storage.tokens?.refreshToken, undefined);
    await second.logout();
    assert.equal(storage.tokens, null);
    assert.equal((await second.me()) ?? null, null);
    second.close();
  });

  test('a cold start from storage with an expired access token refreshes before its first call', async () => {
    const storage = new MemoryStorage();
    const first = createClient({ baseUrl: server.url, transport: 'header', storage, now: () => clock.now() });
    await first.login({ username: 'bob', password: 'bob-password' });
    first.close();
    clock.advanceSeconds(EXPIRED);
    const { fetch, calls } = counting();
    const second = createClient({
      baseUrl: server.url,
      transport: 'header',
      storage,
      fetch,
      now: () => clock.now(),
    });
    assert.equal((await second.fetch('/auth/verify')).status, 200);
    assert.deepEqual(calls, ['POST /auth/refresh', 'GET /auth/verify'], 'no call sent with the stale token');
    second.close();
  });

  test('logout ends the login on the server: its access token is refused afterwards', async () => {
    const storage = new MemoryStorage();
    const client = createClient({ baseUrl: server.url, transport: 'header', storage });
    await client.login({ username: 'bob', password: 'bob-password' });
    const access = storage.tokens?.accessToken as string;
    await client.logout();
    assert.equal(client.session.user, null);
    // A state-changing route checks that the login is live (the token alone would still verify).
    const after = await fetch(`${server.url}/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access}` },
    });
    assert.equal(after.status, 401, 'the ended login cannot act');
    client.close();
  });

  test('logoutAll ends every login of the user', async () => {
    const one = createClient({ baseUrl: server.url, transport: 'header' });
    const two = createClient({ baseUrl: server.url, transport: 'header' });
    await one.login({ username: 'bob', password: 'bob-password' });
    await two.login({ username: 'bob', password: 'bob-password' });
    await one.logoutAll();
    assert.deepEqual((await server.keycard.logins.listPage(bobId, { limit: 10 })).logins, []);
    assert.equal(await two.refresh(), false);
    one.close();
    two.close();
  });

  test('bad input gets a clear error and changes nothing', async () => {
    assert.throws(() => createClient({} as never), /baseUrl/);
    assert.throws(
      () => createClient({ baseUrl: server.url, transport: 'bearer' as never }),
      /'cookie' or 'header'/,
    );
    const client = createClient({ baseUrl: server.url, transport: 'header' });
    await assert.rejects(
      client.login({ username: 'bob', password: 'wrong-password' }),
      (error: unknown) =>
        error instanceof KeycardClientError && error.status === 401 && error.code === 'invalid_credentials',
    );
    assert.equal(client.session.user, null);
    await assert.rejects(
      client.login({ username: '', password: '' }),
      (error: unknown) => error instanceof KeycardClientError && error.status === 400,
    );
    assert.equal(await client.refresh(), false, 'nothing to refresh before a login');
    client.close();
  });
});

describe('keycard/client, transport mismatch', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ storeURL: 'memory:', flags: { preset: 'spa' } });
    await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
  });
  after(async () => {
    await server?.close();
  });

  test('a header client against a cookie-transport server says which transport to use', async () => {
    const client = createClient({ baseUrl: server.url, transport: 'header' });
    await assert.rejects(
      client.login({ username: 'bob', password: 'bob-password' }),
      (error: unknown) =>
        error instanceof KeycardClientError &&
        error.code === 'transport_mismatch' &&
        /transport: 'cookie'/.test(error.message),
    );
    assert.equal(client.session.user, null);
    client.close();
  });
});
