/**
 * examples/microservices over real HTTP: the keycard server (microservices preset) issues tokens; the
 * orders service verifies them from the JWKS alone; the billing client program (client.ts) runs as a
 * child process against both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
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

const CLIENT_PROGRAM = fileURLToPath(new URL('../../examples/microservices/client.ts', import.meta.url));
/** An absolute URL, so the child finds tsx whatever its working directory. */
const TSX = import.meta.resolve('tsx');

/** Runs examples/microservices/client.ts against the two servers, as its README says. */
function runClient(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(KEYCARD_|NODE_OPTIONS$|NODE_TEST|CLIENT_|SCOPE$|AUTH_URL$|ORDERS_URL$)/.test(name)) {
      inherited[name] = value;
    }
  }
  const child = spawn(process.execPath, ['--import', TSX, '--conditions=source', CLIENT_PROGRAM], {
    env: { ...inherited, AUTH_URL: auth.url, ORDERS_URL: orders.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the client program gets a client-credentials token and reads the report with it', async () => {
  const { client, secret } = await auth.keycard.clients.create({
    name: 'reporting',
    scopes: ['orders:read'],
  });
  const run = await runClient({ CLIENT_ID: client.id, CLIENT_SECRET: secret });
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    new RegExp(`^token for ${client.id}: scope "orders:read", expires in 900 s$`, 'm'),
  );
  const report = /^report: (.*)$/m.exec(run.stdout);
  assert.ok(report, run.stdout);
  const printed = JSON.parse(report[1] as string);
  // The same report the orders service gives any orders:read client at this moment.
  const minted = await request(auth.url, 'POST', '/auth/token', {
    form: { grant_type: 'client_credentials', client_id: client.id, client_secret: secret },
  });
  const direct = await request(orders.url, 'GET', '/reports/orders', {
    headers: { authorization: `Bearer ${minted.json.access_token}` },
  });
  assert.deepEqual(printed, direct.json);
  assert.equal(typeof printed.orders, 'number');
  assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'the secret is never printed');
});

test('the client program fails clearly, with a non-zero exit, on a wrong secret, a disabled client or a missing scope', async () => {
  const { client, secret } = await auth.keycard.clients.create({
    name: 'exporter',
    scopes: ['orders:read', 'orders:write'],
  });
  const wrong = await runClient({ CLIENT_ID: client.id, CLIENT_SECRET: `${secret}x` });
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stdout, '');
  assert.match(
    wrong.stderr,
    /^the auth service refused the client: 401 invalid_client: client authentication failed$/m,
  );

  // The token is issued, but without orders:read the orders service answers 403 insufficient_scope.
  const scoped = await runClient({ CLIENT_ID: client.id, CLIENT_SECRET: secret, SCOPE: 'orders:write' });
  assert.equal(scoped.code, 1);
  assert.match(scoped.stdout, /scope "orders:write"/);
  assert.doesNotMatch(scoped.stdout, /^report:/m);
  assert.match(scoped.stderr, /^the orders service refused the token: 403 insufficient_scope: /m);

  // The right secret of a disabled client is refused at the token endpoint.
  const enabled = await request(auth.url, 'POST', '/auth/token', {
    form: { grant_type: 'client_credentials', client_id: client.id, client_secret: secret },
  });
  assert.equal(enabled.status, 200, enabled.text);
  await auth.keycard.clients.disable(client.id);
  const disabled = await runClient({ CLIENT_ID: client.id, CLIENT_SECRET: secret });
  assert.equal(disabled.code, 1);
  assert.equal(disabled.stdout, '');
  assert.match(disabled.stderr, /refused the client: 401 invalid_client/);

  const unset = await runClient({});
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /set CLIENT_ID and CLIENT_SECRET/);
});
