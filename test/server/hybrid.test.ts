/**
 * The hybrid strategy (spa preset) over real HTTP on SQLite: a request costs a signature check and a
 * memory lookup — no store round trip — and every revocation path (logout, revoke one, log out
 * everywhere, block, password change, refresh-token reuse) refuses the access token on the next request,
 * on this instance at once and on another instance sharing the store as soon as the feed delivers.
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
import { Client, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('server: hybrid strategy (spa preset)', () => {
  let a: TestServer;
  let b: TestServer;
  let counting: CountingStore;
  let dbPath: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keycard-hybrid-'));
    dbPath = join(dir, 'keycard.db');
    counting = countingStore(new SQLiteStore({ path: dbPath, revocationPollIntervalMs: 20 }));
    a = await startTestServer({
      store: counting.store,
      flags: { preset: 'spa', keys: join(dir, 'keys.json') },
    });
    // A second instance on the same file and key file, as behind a load balancer.
    b = await startTestServer({
      storeURL: `sqlite:${dbPath}?revocationPollIntervalMs=20`,
      flags: { preset: 'spa', keys: join(dir, 'keys.json') },
    });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await a.keycard.users.create({
        username: name,
        password: `${name}-password`,
        role: name === 'alice' ? 'admin' : 'user',
      });
    }
    await eventually(
      async () => (await request(a.url, 'GET', '/readyz')).json?.revocationFeed === 'synced',
      'A synced',
    );
    await eventually(
      async () => (await request(b.url, 'GET', '/readyz')).json?.revocationFeed === 'synced',
      'B synced',
    );
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  async function login(server: TestServer, username: string): Promise<Client> {
    const client = new Client(server.url);
    const response = await client.post('/auth/login', {
      json: { username, password: `${username}-password` },
    });
    assert.equal(response.status, 200, response.text);
    return client;
  }

  /** The same browser's cookies, sent to another instance. */
  function onInstance(client: Client, server: TestServer): Client {
    const other = new Client(server.url);
    for (const [name, value] of client.cookies) other.cookies.set(name, value);
    return other;
  }

  test('authenticating a request costs no store round trip: a signature check and a memory lookup', async () => {
    const client = await login(a, 'bob');
    counting.reset();
    // GET /auth/verify (forward auth) answers from the verified credential alone.
    for (let i = 0; i < 10; i++) assert.equal((await client.get('/auth/verify')).status, 200);
    assert.equal(counting.reads() + counting.writes(), 0);
    await client.post('/auth/logout');
    assert.equal((await request(a.url, 'GET', '/auth/verify')).status, 401);
  });

  test('logout refuses the old access cookie at once', async () => {
    const client = await login(a, 'bob');
    const stolen = client.cookies.get('keycard_access') as string;
    assert.equal((await client.post('/auth/logout')).status, 200);
    const replay = await request(a.url, 'GET', '/auth/me', {}, `keycard_access=${stolen}`);
    assert.equal(replay.status, 401);
    assert.match(replay.json.error.message, /revoked/);
  });

  test('log out everywhere on instance A refuses the other devices on A and on B', async () => {
    const laptop = await login(a, 'carol');
    const phone = await login(b, 'carol');
    assert.equal((await onInstance(phone, a).get('/auth/me')).status, 200);
    assert.equal((await laptop.post('/auth/logout-all')).status, 200);
    await eventually(async () => (await phone.get('/auth/me')).status === 401, 'B refuses the phone');
    assert.equal((await onInstance(phone, a).get('/auth/me')).status, 401, 'A refuses at once');
  });

  test('an admin block on B refuses the user on A without any store read on A', async () => {
    const dave = await login(a, 'dave');
    assert.equal((await dave.get('/auth/me')).status, 200);
    const user = await b.keycard.users.findByUsername('dave');
    assert.ok(user);
    counting.reset();
    await b.keycard.users.block(user.id);
    await eventually(async () => (await dave.get('/auth/me')).status === 401, 'A refuses the blocked user');
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'A answered from memory, fed by the poll');
  });

  test('revoking one session and changing the password end the other logins', async () => {
    const first = await login(a, 'erin');
    const second = await login(a, 'erin');
    const secondId = (await second.get('/auth/me')).json.session.id;
    assert.equal((await first.delete(`/auth/sessions/${secondId}`)).status, 200);
    assert.equal((await second.get('/auth/me')).status, 401);
    const third = await login(a, 'erin');
    const erin = await a.keycard.users.findByUsername('erin');
    await a.keycard.users.setPassword(erin?.id as string, 'erin-new-password-1', {
      keepSessionId: (await first.get('/auth/me')).json.session.id,
    });
    assert.equal((await third.get('/auth/me')).status, 401);
    assert.equal((await first.get('/auth/me')).status, 200, 'the login that changed the password stays');
  });
});

describe('server: hybrid strategy, refresh-token reuse', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ clock, storeURL: 'memory:', flags: { preset: 'spa' } });
    await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
  });
  after(async () => {
    await server?.close();
  });

  test('cookie transport: login and refresh answers say when the access token expires, and carry no token', async () => {
    const client = new Client(server.url);
    const login = await client.post('/auth/login', { json: { username: 'bob', password: 'bob-password' } });
    assert.equal(login.status, 200);
    const maxAge = (response: typeof login) => {
      const access = response.setCookies.find((cookie) => cookie.startsWith('keycard_access='));
      return Number(/Max-Age=(\d+)/i.exec(access ?? '')?.[1]);
    };
    assert.equal(login.json.expires_in, 15 * 60, 'the spa preset: 15-minute access tokens');
    assert.equal(login.json.expires_in, maxAge(login), 'the access cookie lives as long');
    for (const key of ['access_token', 'refresh_token', 'refresh_expires_in', 'token_type']) {
      assert.equal(key in login.json, false, `${key} stays in its HttpOnly cookie`);
    }
    clock.advanceSeconds(60);
    const refreshed = await client.post('/auth/refresh', {
      headers: { 'x-csrf-token': login.json.csrf_token },
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.expires_in, 15 * 60);
    assert.equal(refreshed.json.expires_in, maxAge(refreshed));
    assert.equal('access_token' in refreshed.json, false);
  });

  test('a spent refresh token replayed after the grace window revokes the live access token too', async () => {
    const client = new Client(server.url);
    assert.equal(
      (await client.post('/auth/login', { json: { username: 'bob', password: 'bob-password' } })).status,
      200,
    );
    const spent = client.cookies.get('keycard_refresh') as string;
    assert.equal((await client.post('/auth/refresh')).status, 200);
    const access = client.cookies.get('keycard_access') as string;
    assert.equal((await request(server.url, 'GET', '/auth/me', {}, `keycard_access=${access}`)).status, 200);
    clock.advanceSeconds(16);
    const replay = await request(server.url, 'POST', '/auth/refresh', {}, `keycard_refresh=${spent}`);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, 'refresh_token_reused');
    const after = await request(server.url, 'GET', '/auth/me', {}, `keycard_access=${access}`);
    assert.equal(after.status, 401, 'the access token is refused although it has not expired');
    assert.match(after.json.error.message, /revoked/);
  });
});
