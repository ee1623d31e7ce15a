/**
 * examples/microservices over real HTTP: the keycard server (microservices preset) issues tokens; the
 * orders service verifies them from the JWKS alone.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createOrdersService } from '../../examples/microservices/orders-service.js';
import { request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let auth: TestServer;
let orders: { url: string; close(): void };
let service: ReturnType<typeof createOrdersService>;

before(async () => {
  auth = await startTestServer({ flags: { preset: 'microservices' } });
  await auth.keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
  await auth.keycard.users.create({ username: 'bob', password: 'bob-password' });
  // The orders service subscribes to the auth service's revocation feed (its SQLite file here).
  service = createOrdersService({
    jwksURL: `${auth.url}/.well-known/jwks.json`,
    revocations: `sqlite:${join(auth.dir, 'keycard.db')}?revocationPollIntervalMs=20`,
  });
  await service.verifier.ready();
  await service.services.ready();
  const server = service.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  orders = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
});
after(async () => {
  orders?.close();
  await service?.verifier.close();
  await service?.services.close();
  await auth?.close();
});

async function tokenFor(username: string, password: string): Promise<string> {
  const response = await request(auth.url, 'POST', '/auth/login', { json: { username, password } });
  assert.equal(response.status, 200, response.text);
  return response.json.access_token;
}

test('a token from the auth service works at the orders service; none gets 401', async () => {
  const token = await tokenFor('bob', 'bob-password');
  const created = await request(orders.url, 'POST', '/orders', {
    json: { item: 'book' },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(created.status, 201, created.text);
  const list = await request(orders.url, 'GET', '/orders', { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(list.json, { user: 'bob', orders: [{ id: 1, item: 'book' }] });
  const anonymous = await request(orders.url, 'GET', '/orders');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
});

test('the role in the token decides admin access at the orders service', async () => {
  const bob = await tokenFor('bob', 'bob-password');
  assert.equal(
    (await request(orders.url, 'GET', '/admin/orders', { headers: { authorization: `Bearer ${bob}` } }))
      .status,
    403,
  );
  const alice = await tokenFor('alice', 'alice-password');
  assert.equal(
    (await request(orders.url, 'GET', '/admin/orders', { headers: { authorization: `Bearer ${alice}` } }))
      .status,
    200,
  );
});

test('a token signed by anyone else is refused', async () => {
  const token = await tokenFor('bob', 'bob-password');
  const [header, payload] = token.split('.');
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload as string, 'base64url').toString()), role: 'admin' })).toString('base64url')}.${token.split('.')[2]}`;
  assert.equal(
    (await request(orders.url, 'GET', '/admin/orders', { headers: { authorization: `Bearer ${forged}` } }))
      .status,
    401,
  );
});

test('with the revocation feed, a blocked user is refused at the orders service long before the token expires', async () => {
  const carol = await auth.keycard.users.create({ username: 'carol', password: 'carol-password' });
  const token = await tokenFor('carol', 'carol-password');
  const headers = { authorization: `Bearer ${token}` };
  assert.equal((await request(orders.url, 'GET', '/orders', { headers })).status, 200);
  await auth.keycard.users.block(carol.id);
  let status = 200;
  for (let attempt = 0; attempt < 300 && status === 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = (await request(orders.url, 'GET', '/orders', { headers })).status;
  }
  assert.equal(status, 401);
  const refused = await request(orders.url, 'GET', '/orders', { headers });
  assert.equal(refused.json.error.code, 'token_revoked');
});

test('a service calls in with a client-credentials token; scopes and token kinds are enforced', async () => {
  const { client, secret } = await auth.keycard.clients.create({
    name: 'billing',
    scopes: ['orders:read', 'orders:write'],
  });
  const mint = async (scope: string) => {
    const response = await request(auth.url, 'POST', '/auth/token', {
      form: { grant_type: 'client_credentials', client_id: client.id, client_secret: secret, scope },
    });
    assert.equal(response.status, 200, response.text);
    return response.json.access_token as string;
  };
  const reader = await mint('orders:read');
  const report = await request(orders.url, 'GET', '/reports/orders', {
    headers: { authorization: `Bearer ${reader}` },
  });
  assert.equal(report.status, 200, report.text);
  assert.equal(typeof report.json.orders, 'number');
  const writer = await mint('orders:write');
  const noScope = await request(orders.url, 'GET', '/reports/orders', {
    headers: { authorization: `Bearer ${writer}` },
  });
  assert.equal(noScope.status, 403);
  assert.equal(noScope.json.error.code, 'insufficient_scope');
  assert.match(String(noScope.headers['www-authenticate']), /insufficient_scope/);
  // The reverse directions: a user token on the service route, a client token on a user route.
  const user = await tokenFor('bob', 'bob-password');
  assert.equal(
    (await request(orders.url, 'GET', '/reports/orders', { headers: { authorization: `Bearer ${user}` } }))
      .status,
    401,
  );
  assert.equal(
    (await request(orders.url, 'GET', '/orders', { headers: { authorization: `Bearer ${reader}` } })).status,
    401,
  );
  // Disabling the client revokes its outstanding tokens here too, through the revocation feed.
  await auth.keycard.clients.disable(client.id);
  let status = 200;
  for (let attempt = 0; attempt < 300 && status === 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = (
      await request(orders.url, 'GET', '/reports/orders', { headers: { authorization: `Bearer ${reader}` } })
    ).status;
  }
  assert.equal(status, 401);
});
