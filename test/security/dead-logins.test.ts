/**
 * Privileged actions never run on a dead login. In the jwt strategy an access token is verified without
 * the store, so a blocked admin's unexpired token used to create admins, create API clients and block the
 * other admins. Every admin route and every route that ends logins now confirms the login is live (one
 * store read), in every preset. The test blocks an admin and replays the old credential against each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Preset } from '../../src/index.js';
import { Client, type Response } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { SAME_ORIGIN } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
const PRESETS: Preset[] = ['web-app', 'banking', 'spa', 'api', 'microservices', 'mobile'];

/** Sends requests with one login's credential: its Bearer token, or its cookies plus CSRF token. */
interface Actor {
  send(method: string, path: string, json?: unknown): Promise<Response>;
}

async function signIn(server: TestServer, username: string): Promise<Actor> {
  const client = new Client(server.url);
  const headerTransport = server.keycard.options.jwt?.transport === 'header';
  if (headerTransport) {
    const login = await client.post('/auth/login', { json: { username, password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    const token = login.json.access_token as string;
    return {
      send: (method, path, json) =>
        client.request(method, path, {
          json,
          headers: { authorization: `Bearer ${token}` },
          noCookies: true,
        }),
    };
  }
  // A browser page: same-origin, with the login's CSRF token.
  const csrf = (await client.get('/auth/csrf')).json.token as string;
  const login = await client.post('/auth/login', {
    json: { username, password: PASSWORD },
    headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
  });
  assert.equal(login.status, 200, login.text);
  const token = login.json.csrf_token as string;
  return {
    send: (method, path, json) =>
      client.request(method, path, { json, headers: { ...SAME_ORIGIN, 'x-csrf-token': token } }),
  };
}

for (const preset of PRESETS) {
  describe(`a blocked admin's credential in the ${preset} preset`, () => {
    let server: TestServer;
    let ids: { root: string; boss: string; bob: string; client: string };

    before(async () => {
      server = await startTestServer({ flags: { preset } });
      const users = server.keycard.users;
      const root = await users.create({ username: 'root', password: PASSWORD, role: 'admin' });
      const boss = await users.create({ username: 'boss', password: PASSWORD, role: 'admin' });
      const bob = await users.create({ username: 'bob', password: PASSWORD });
      const { client } = await server.keycard.clients.create({ name: 'billing', scopes: ['orders:read'] });
      ids = { root: root.id, boss: boss.id, bob: bob.id, client: client.id };
    });
    after(async () => {
      await server?.close();
    });

    test('can neither act nor read as an admin, nor end logins', async () => {
      const root = await signIn(server, 'root');
      const second = await signIn(server, 'root');
      const secondId = (await second.send('GET', '/auth/me')).json.session?.id as string | undefined;
      // Alive, it can do all of this (so a refusal below is the block's doing).
      assert.equal((await root.send('GET', '/auth/admin/users')).status, 200);

      await server.keycard.users.block(ids.root);
      const usersBefore = await server.keycard.users.count();
      const attempts: [string, string, unknown?][] = [
        ['GET', '/auth/admin/users'],
        ['POST', '/auth/admin/users', { username: 'mallory', password: PASSWORD, role: 'admin' }],
        ['POST', `/auth/admin/users/${ids.bob}/block`],
        ['POST', `/auth/admin/users/${ids.boss}/block`],
        ['POST', `/auth/admin/users/${ids.root}/unblock`],
        ['GET', '/auth/admin/clients'],
        ['POST', '/auth/admin/clients', { name: 'backdoor', scopes: ['admin'] }],
        ['POST', `/auth/admin/clients/${ids.client}/rotate-secret`],
        ['POST', `/auth/admin/clients/${ids.client}/disable`],
        ['DELETE', `/auth/admin/clients/${ids.client}`],
        ['DELETE', `/auth/sessions/${secondId ?? 'AAAAAAAAAAAAAAAAAAAAAA'}`],
        ['POST', '/auth/logout-all'],
      ];
      // Bearer tokens: 401 token_revoked. Cookies: the ended login's cookie authenticates nothing, so 401
      // (or 403 when the CSRF check, bound to that login, refuses first). Either way: refused.
      const headerTransport = server.keycard.options.jwt?.transport === 'header';
      for (const [method, path, json] of attempts) {
        const response = await root.send(method, path, json);
        const label = `${preset}: ${method} ${path} → ${response.status} ${response.text}`;
        if (headerTransport) {
          assert.equal(response.status, 401, label);
          assert.equal(response.json.error.code, 'token_revoked', label);
        } else {
          assert.ok(response.status === 401 || response.status === 403, label);
        }
      }
      assert.equal(await server.keycard.users.count(), usersBefore, 'no user was created');
      assert.equal((await server.keycard.users.get(ids.bob))?.blocked, false);
      assert.equal((await server.keycard.users.get(ids.boss))?.blocked, false);
      assert.equal((await server.keycard.users.get(ids.root))?.blocked, true, 'still blocked');
      const clients = await server.keycard.clients.list();
      assert.deepEqual(
        clients.map((client) => [client.id, client.disabled, client.generation]),
        [[ids.client, false, 1]],
        'no client was created, changed or removed',
      );
    });

    test('a demoted admin cannot act either, while a live admin can', async () => {
      const boss = await signIn(server, 'boss');
      assert.equal((await boss.send('POST', `/auth/admin/users/${ids.bob}/block`)).status, 200);
      assert.equal((await boss.send('POST', `/auth/admin/users/${ids.bob}/unblock`)).status, 200);
      await server.keycard.users.setRole(ids.boss, 'user');
      const response = await boss.send('POST', `/auth/admin/users/${ids.bob}/block`);
      assert.ok(response.status === 401 || response.status === 403, response.text);
      assert.equal((await server.keycard.users.get(ids.bob))?.blocked, false);
    });
  });
}
