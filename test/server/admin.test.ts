/** The admin API: list and create users, block (ending every session at once) and unblock. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('server: admin API', () => {
  let server: TestServer;
  let admin: Client;

  async function login(username: string, password: string): Promise<Client> {
    const client = new Client(server.url);
    const response = await client.post('/auth/login', { json: { username, password } });
    assert.equal(response.status, 200, response.text);
    return client;
  }

  before(async () => {
    server = await startTestServer();
    await server.keycard.users.create({ username: 'root', password: 'root-password', role: 'admin' });
    await server.keycard.users.create({ username: 'carol', password: 'carol-password' });
    admin = await login('root', 'root-password');
  });
  after(async () => {
    await server?.close();
  });

  test('only admins may use the admin API', async () => {
    assert.equal((await new Client(server.url).get('/auth/admin/users')).status, 401);
    const carol = await login('carol', 'carol-password');
    const forbidden = await carol.get('/auth/admin/users');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.error.code, 'forbidden');
    const created = await carol.post('/auth/admin/users', {
      json: { username: 'eve', password: 'eve-password', role: 'admin' },
    });
    assert.equal(created.status, 403);
    assert.equal(await server.keycard.users.findByUsername('eve'), null);
  });

  test('an admin creates users; usernames are canonical and unique', async () => {
    const created = await admin.post('/auth/admin/users', {
      json: { username: 'Dave', password: 'dave-password' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.user.username, 'dave');
    assert.equal(created.json.user.role, 'user');
    assert.equal(created.json.user.passwordHash, undefined);
    const again = await admin.post('/auth/admin/users', {
      json: { username: 'DAVE', password: 'dave-password' },
    });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'username_taken');
    const short = await admin.post('/auth/admin/users', { json: { username: 'frank', password: 'short' } });
    assert.equal(short.status, 400);
    assert.equal(short.json.error.field, 'password');
    const badName = await admin.post('/auth/admin/users', {
      json: { username: 'has space', password: 'frank-password' },
    });
    assert.equal(badName.status, 400);
    assert.equal(badName.json.error.field, 'username');
    const badRole = await admin.post('/auth/admin/users', {
      json: { username: 'frank', password: 'frank-password', role: 'Root!' },
    });
    assert.equal(badRole.status, 400);
    assert.equal(badRole.json.error.field, 'role');
  });

  test('lists users page by page', async () => {
    const first = await admin.get('/auth/admin/users?limit=1');
    assert.equal(first.status, 200);
    assert.equal(first.json.users.length, 1);
    assert.ok(first.json.next);
    const second = await admin.get(`/auth/admin/users?limit=1&after=${encodeURIComponent(first.json.next)}`);
    assert.notEqual(second.json.users[0].username, first.json.users[0].username);
    assert.equal((await admin.get('/auth/admin/users?limit=0')).status, 400);
    assert.equal((await admin.get('/auth/admin/users?limit=abc')).status, 400);
  });

  test('blocking a user ends all of their sessions at once and refuses new logins', async () => {
    const user = await server.keycard.users.create({ username: 'gina', password: 'gina-password' });
    const devices = [
      await login('gina', 'gina-password'),
      await login('gina', 'gina-password'),
      await login('gina', 'gina-password'),
    ];
    for (const device of devices) assert.equal((await device.get('/auth/me')).status, 200);
    const blocked = await admin.post(`/auth/admin/users/${user.id}/block`);
    assert.equal(blocked.status, 200);
    assert.equal(blocked.json.user.blocked, true);
    for (const device of devices)
      assert.equal((await device.get('/auth/me')).status, 401, 'the very next request is refused');
    assert.deepEqual(await server.keycard.logins.listForUser(user.id), []);
    const refused = await new Client(server.url).post('/auth/login', {
      json: { username: 'gina', password: 'gina-password' },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'account_blocked');
    assert.equal(refused.setCookies.length, 0);
    const wrongPassword = await new Client(server.url).post('/auth/login', {
      json: { username: 'gina', password: 'not-her-password' },
    });
    assert.equal(
      wrongPassword.json.error.code,
      'invalid_credentials',
      'blocking does not reveal the account to a guesser',
    );
    assert.equal((await admin.post(`/auth/admin/users/${user.id}/unblock`)).status, 200);
    assert.equal(
      (
        await new Client(server.url).post('/auth/login', {
          json: { username: 'gina', password: 'gina-password' },
        })
      ).status,
      200,
    );
  });

  test('a block racing with logins leaves no live session for the blocked user', async () => {
    const user = await server.keycard.users.create({ username: 'hank', password: 'hank-password' });
    const logins = Array.from({ length: 6 }, () =>
      new Client(server.url).post('/auth/login', { json: { username: 'hank', password: 'hank-password' } }),
    );
    const block = admin.post(`/auth/admin/users/${user.id}/block`);
    await Promise.all([...logins, block]);
    assert.deepEqual(await server.keycard.logins.listForUser(user.id), []);
  });

  test('an admin cannot block themselves; unknown and malformed ids are refused', async () => {
    const me = (await admin.get('/auth/me')).json.user;
    const self = await admin.post(`/auth/admin/users/${me.id}/block`);
    assert.equal(self.status, 400);
    assert.equal((await admin.post('/auth/admin/users/AAAAAAAAAAAAAAAAAAAAAA/block')).status, 404);
    assert.equal((await admin.post('/auth/admin/users/..%2F..%2Fetc/block')).status, 400);
  });
});
