/**
 * Drives examples/express-sessions over real HTTP, once on the memory store and once on a SQLite file:
 * the example must work as its README says, on either store.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import type { Keycard, Store } from 'keycard';
import { MemoryStore } from 'keycard/stores/memory';
import { SQLiteStore } from 'keycard/stores/sqlite';
import { createApp } from '../../examples/express-sessions/app.js';
import { hashToken } from '../../src/core/random-tokens.js';
import { ManualClock } from '../helpers/clock.js';
import { Client, parseSetCookie } from '../helpers/http.js';

const COOKIE = 'keycard_session';
const PASSWORDS: Record<string, string> = {
  alice: 'alice-correct-horse',
  bob: 'bob-battery-staple',
};

/**
 * The store, with a switch that holds every session read until `count` reads have arrived, so that
 * concurrent requests are certain to have loaded the same session data before any of them saves.
 */
interface GatedStore {
  store: Store;
  holdReads(count: number): void;
}

function gatedStore(inner: Store): GatedStore {
  let gate: { remaining: number; opened: Promise<void>; open(): void } | null = null;
  const getLogin = async (id: string) => {
    const record = await inner.getLogin(id);
    const current = gate;
    if (current) {
      current.remaining -= 1;
      if (current.remaining === 0) {
        gate = null;
        current.open();
      }
      await current.opened;
    }
    return record;
  };
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === 'getLogin') return getLogin;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store,
    holdReads(count) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { remaining: count, opened, open };
    },
  };
}

interface Example {
  url: string;
  keycard: Keycard;
  store: Store;
  clock: ManualClock;
  holdReads(count: number): void;
  /** A browser-like client that has signed in as `username` (whose password is in PASSWORDS). */
  signedIn(username: string): Promise<Client>;
}

type StoreKind = 'memory' | 'sqlite';

async function startExample(
  t: TestContext,
  kind: StoreKind,
  users: Record<string, string>,
): Promise<Example> {
  const clock = new ManualClock(Date.now());
  let dir: string | undefined;
  let inner: Store;
  if (kind === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'keycard-example-'));
    inner = new SQLiteStore({ path: join(dir, 'example.db'), clock });
  } else {
    inner = new MemoryStore({ clock });
  }
  const gated = gatedStore(inner);
  const { app, keycard, store } = await createApp({ store: gated.store, clock });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await inner.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  for (const [username, role] of Object.entries(users)) {
    await keycard.users.create({ username, password: PASSWORDS[username] as string, role });
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    keycard,
    store,
    clock,
    holdReads: gated.holdReads,
    async signedIn(username) {
      const client = new Client(url);
      const response = await client.post('/login', { json: { username, password: PASSWORDS[username] } });
      assert.equal(response.status, 200, `${username} signs in: ${response.text}`);
      return client;
    },
  };
}

function sessionToken(client: Client): string {
  const token = client.cookies.get(COOKIE);
  assert.ok(token, 'the client holds a session cookie');
  return token;
}

/** The session a client's cookie names, read straight from the store. */
function storedSession(example: Example, client: Client) {
  return example.store.getLogin(hashToken(sessionToken(client)));
}

/** The app's data in a stored session: without the login's own record of how it signed in (docs/mfa.md). */
async function storedData(example: Example, client: Client): Promise<Record<string, unknown> | undefined> {
  const login = await storedSession(example, client);
  if (!login) return undefined;
  const { keycard_auth: _authentication, ...data } = login.data;
  return data;
}

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`express-sessions example on the ${kind} store`, () => {
    test('login sets an HttpOnly, SameSite=Lax keycard_session cookie (no Secure or __Host- on http://127.0.0.1)', async (t) => {
      const example = await startExample(t, kind, { alice: 'admin' });
      const client = new Client(example.url);
      const response = await client.post('/login', {
        json: { username: 'alice', password: PASSWORDS.alice },
      });
      assert.equal(response.status, 200);
      assert.equal(response.json.user.username, 'alice');
      assert.equal(response.json.user.role, 'admin');
      assert.equal(response.json.user.passwordHash, undefined, 'the password hash is never sent');
      assert.equal(response.setCookies.length, 1);
      const cookie = parseSetCookie(response.setCookies[0] as string);
      assert.equal(cookie.name, COOKIE);
      assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(cookie.attributes.has('httponly'), true);
      assert.equal(cookie.attributes.get('samesite'), 'Lax');
      assert.equal(cookie.attributes.get('path'), '/');
      assert.equal(cookie.attributes.has('secure'), false);
      assert.equal(cookie.attributes.has('domain'), false);
      // The store keeps the token's hash, never the token.
      const session = await example.store.getLogin(hashToken(cookie.value));
      assert.equal(session?.user?.username, 'alice');
      assert.equal(await example.store.getLogin(cookie.value), null);
    });

    test('the visits counter in req.session increments per request and persists across requests', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const laptop = await example.signedIn('alice');
      for (const expected of [1, 2, 3]) {
        const response = await laptop.get('/profile');
        assert.equal(response.status, 200);
        assert.equal(response.json.user.username, 'alice');
        assert.equal(response.json.visits, expected);
      }
      assert.equal((await storedSession(example, laptop))?.data.visits, 3);
      // Session data belongs to one session: the same user signed in elsewhere starts from scratch.
      const phone = await example.signedIn('alice');
      assert.equal((await phone.get('/profile')).json.visits, 1);
      assert.equal((await laptop.get('/profile')).json.visits, 4);
    });

    test('a wrong password or an unknown user gets 401 invalid_credentials and no cookie', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const incomplete = await new Client(example.url).post('/login', { json: { username: 'alice' } });
      assert.equal(incomplete.status, 400, 'a body without a password is malformed, not a wrong password');
      assert.deepEqual(
        [incomplete.json.error.code, incomplete.json.error.field],
        ['invalid_request', 'password'],
      );
      for (const credentials of [
        { username: 'alice', password: 'not-alices-password' },
        { username: 'nobody', password: PASSWORDS.alice },
      ]) {
        const client = new Client(example.url);
        const response = await client.post('/login', { json: credentials });
        assert.equal(response.status, 401, JSON.stringify(credentials));
        assert.equal(response.json.error.code, 'invalid_credentials');
        assert.deepEqual(response.setCookies, []);
        assert.equal((await client.get('/profile')).status, 401);
      }
      assert.deepEqual(await example.keycard.logins.listForUser((await alice(example)).id), []);
    });

    test('after logout, replaying the old cookie gets 401', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const client = await example.signedIn('alice');
      const oldCookie = `${COOKIE}=${sessionToken(client)}`;
      const replay = () => client.get('/profile', { headers: { cookie: oldCookie } });
      assert.equal((await replay()).status, 200, 'the cookie works before logout');

      const logout = await client.post('/logout');
      assert.equal(logout.status, 200);
      const cleared = parseSetCookie(logout.setCookies[0] ?? '');
      assert.equal(cleared.name, COOKIE);
      assert.equal(cleared.attributes.get('max-age'), '0');
      assert.equal(client.cookies.has(COOKIE), false);

      const after = await replay();
      assert.equal(after.status, 401);
      assert.equal(after.json.error.code, 'unauthenticated');
      assert.deepEqual(await example.keycard.logins.listForUser((await alice(example)).id), []);
    });

    test("an admin blocks bob while he is signed in: bob's next request is 401 and his new login gets 403", async (t) => {
      const example = await startExample(t, kind, { alice: 'admin', bob: 'user' });
      const admin = await example.signedIn('alice');
      const bobLaptop = await example.signedIn('bob');
      const bobPhone = await example.signedIn('bob');
      assert.equal((await bobLaptop.get('/profile')).status, 200);
      assert.equal((await bobPhone.get('/profile')).status, 200);

      const block = await admin.post('/admin/users/bob/block');
      assert.equal(block.status, 200);
      assert.equal(block.json.user.username, 'bob');
      assert.equal(block.json.user.blocked, true);

      for (const device of [bobLaptop, bobPhone]) {
        const response = await device.get('/profile');
        assert.equal(response.status, 401);
        assert.equal(response.json.error.code, 'unauthenticated');
      }
      const again = new Client(example.url);
      const login = await again.post('/login', { json: { username: 'bob', password: PASSWORDS.bob } });
      assert.equal(login.status, 403);
      assert.equal(login.json.error.code, 'account_blocked');
      assert.equal(again.cookies.has(COOKIE), false);
      const bob = await example.keycard.users.findByUsername('bob');
      assert.deepEqual(await example.keycard.logins.listForUser(bob?.id ?? ''), []);
      // The admin's own session is untouched.
      assert.equal((await admin.get('/admin/users')).status, 200);
    });

    test('a non-admin gets 403 on the admin routes; an admin gets the user list', async (t) => {
      const example = await startExample(t, kind, { alice: 'admin', bob: 'user' });
      const bob = await example.signedIn('bob');
      const list = await bob.get('/admin/users');
      assert.equal(list.status, 403);
      assert.equal(list.json.error.code, 'forbidden');
      const block = await bob.post('/admin/users/alice/block');
      assert.equal(block.status, 403);
      assert.equal((await alice(example)).blocked, false);
      assert.equal((await new Client(example.url).get('/admin/users')).status, 401);

      const admin = await example.signedIn('alice');
      const users = await admin.get('/admin/users');
      assert.equal(users.status, 200);
      assert.deepEqual(
        users.json.users.map((user: { username: string }) => user.username),
        ['alice', 'bob'],
      );
      const missing = await admin.post('/admin/users/nobody/block');
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error.code, 'not_found');
    });

    test('a cross-site POST /logout with the cookie gets 403 cross_site_request and the session survives', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const client = await example.signedIn('alice');
      const forged = await client.post('/logout', { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(forged.status, 403);
      assert.equal(forged.json.error.code, 'cross_site_request');
      assert.deepEqual(forged.setCookies, [], 'the cookie is not cleared');
      assert.notEqual(await storedSession(example, client), null);
      assert.equal((await client.get('/profile')).status, 200);

      // Login CSRF: another site cannot sign this browser in either.
      const stranger = new Client(example.url);
      const login = await stranger.post('/login', {
        json: { username: 'alice', password: PASSWORDS.alice },
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(login.status, 403);
      assert.equal(login.json.error.code, 'cross_site_request');
      assert.deepEqual(login.setCookies, []);

      // The same request from the page itself needs the page's CSRF token too.
      const tokenless = await client.post('/logout', { headers: { 'sec-fetch-site': 'same-origin' } });
      assert.equal(tokenless.status, 403);
      assert.equal(tokenless.json.error.code, 'csrf_rejected');
      const { token } = (await client.get('/auth/csrf')).json;
      const own = await client.post('/logout', {
        headers: { 'sec-fetch-site': 'same-origin', 'x-csrf-token': token },
      });
      assert.equal(own.status, 200);
      assert.equal((await client.get('/profile')).status, 401);
    });

    // guards: a save that rewrites the whole session would drop what a concurrent request wrote
    test('concurrent requests setting different req.session keys all persist', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const client = await example.signedIn('alice');
      const keys = ['theme', 'language', 'timezone', 'font', 'layout', 'density', 'sidebar', 'editor'];
      // Every request reads the session before any of them writes.
      example.holdReads(keys.length);
      const responses = await Promise.all(
        keys.map((key) => client.post(`/prefs/${key}`, { json: { value: `${key}-value` } })),
      );
      for (const response of responses) assert.equal(response.status, 200, response.text);

      const expected = Object.fromEntries(keys.map((key) => [key, `${key}-value`]));
      const read = await client.get('/prefs');
      assert.equal(read.status, 200);
      assert.deepEqual(read.json.session, expected);
      assert.deepEqual(await storedData(example, client), expected);
    });

    test('a preference key that names a session method is refused', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const client = await example.signedIn('alice');
      for (const key of ['save', 'destroy', 'id', 'constructor', 'Theme']) {
        const response = await client.post(`/prefs/${key}`, { json: { value: 1 } });
        assert.equal(response.status, 400, key);
        assert.equal(response.json.error.code, 'invalid_request');
      }
      assert.deepEqual(await storedData(example, client), {});
      assert.equal((await client.get('/profile')).status, 200, 'the session still works');
    });

    test('a session unused for longer than the idle timeout (24 h) is signed out', async (t) => {
      const example = await startExample(t, kind, { alice: 'user' });
      const client = await example.signedIn('alice');
      example.clock.advanceSeconds(23 * 3600);
      assert.equal((await client.get('/profile')).status, 200, 'still signed in after 23 h');
      // That request moved the idle expiry forward: 23 h later the session is still alive.
      example.clock.advanceSeconds(23 * 3600);
      assert.equal((await client.get('/profile')).status, 200, 'sliding expiry');
      example.clock.advanceSeconds(24 * 3600 + 1);
      const expired = await client.get('/profile');
      assert.equal(expired.status, 401);
      assert.match(expired.json.error.message, /expired/);
    });

    test('a malformed or oversized JSON body gets a JSON error', async (t) => {
      const example = await startExample(t, kind, {});
      const client = new Client(example.url);
      const malformed = await client.post('/login', {
        body: '{"username":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.error.code, 'invalid_request');
      const large = await client.post('/login', {
        json: { username: 'alice', password: 'x'.repeat(17 * 1024) },
      });
      assert.equal(large.status, 413);
      assert.equal(large.json.error.code, 'payload_too_large');
    });
  });
}

async function alice(example: Example) {
  const user = await example.keycard.users.findByUsername('alice');
  assert.ok(user);
  return user;
}
