/**
 * examples/hono started as its README says (`node --import tsx --conditions=source
 * examples/hono/server.ts`, @hono/node-server, SQLite) and driven over HTTP: keycardHono answers the auth
 * API exactly as a `keycard serve` with the same preset (web-app) and users does, and the app's own
 * routes answer 401 signed out, 200 signed in (with the session's visit counter), 403 for a non-admin on
 * the admin route; a cross-site or tampered request gets nothing; SIGTERM ends it cleanly.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertDocumentedAnswers, CONVERSATION_PASSWORD, converse } from '../helpers/api-conversation.js';
import {
  assertStopsCleanly,
  type RunningExample,
  startExample,
  startReferenceServer,
} from '../helpers/examples.js';
import { Client, request } from '../helpers/http.js';
import type { TestServer } from '../helpers/server.js';

const PRESET = 'web-app';
const COOKIE = 'keycard_session';

let example: RunningExample;
let served: TestServer;

before(async () => {
  [example, served] = await Promise.all([
    startExample(process.execPath, ['--import', 'tsx', '--conditions=source', 'examples/hono/server.ts']),
    startReferenceServer(PRESET),
  ]);
});
after(async () => {
  example?.kill();
  await served?.close();
});

async function signIn(username: string): Promise<Client> {
  const client = new Client(example.url);
  const login = await client.post('/auth/login', { json: { username, password: CONVERSATION_PASSWORD } });
  assert.equal(login.status, 200, login.text);
  assert.ok(client.cookies.has(COOKIE));
  return client;
}

test('the auth API under /auth/ answers the conversation exactly as keycard serve does', async () => {
  const [fromServe, fromExample] = await Promise.all([
    converse(served.url, PRESET),
    converse(example.url, PRESET),
  ]);
  assert.deepEqual(fromExample, fromServe);
  assertDocumentedAnswers(fromServe, PRESET);
});

test('requireAuth: 401 signed out, 200 signed in with c.get("auth").user and the session data', async () => {
  const anonymous = await request(example.url, 'GET', '/api/profile');
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.equal(anonymous.json.error.code, 'unauthenticated');

  const bob = await signIn('bob');
  const first = await bob.get('/api/profile');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.user.username, 'bob');
  assert.equal(first.json.user.role, 'user');
  assert.equal(first.json.visits, 1);
  assert.equal((await bob.get('/api/profile')).json.visits, 2, 'the session data was saved');

  // A tampered session cookie is no session at all.
  const token = bob.cookies.get(COOKIE) as string;
  const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  const forged = await request(example.url, 'GET', '/api/profile', {}, `${COOKIE}=${tampered}`);
  assert.equal(forged.status, 401, forged.text);
});

test('requireRole("admin"): 401 signed out, 403 for a user, 200 for an admin', async () => {
  assert.equal((await request(example.url, 'GET', '/api/admin/users')).status, 401);
  const bob = await signIn('bob');
  const refused = await bob.get('/api/admin/users');
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.error.code, 'forbidden');
  const alice = await signIn('alice');
  const users = await alice.get('/api/admin/users');
  assert.equal(users.status, 200, users.text);
  assert.deepEqual(users.json.users.map((user: { username: string }) => user.username).sort(), [
    'alice',
    'bob',
    'carol',
  ]);
});

test('a cross-site unsafe request carrying the cookie is refused before any route; unknown paths are JSON 404s', async () => {
  const bob = await signIn('bob');
  const forged = await bob.post('/api/profile', {
    headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(forged.status, 403, forged.text);
  assert.equal(forged.json.error.code, 'cross_site_request');
  assert.deepEqual(forged.setCookies, []);
  assert.equal((await bob.get('/api/profile')).status, 200, 'the session survives');

  const missing = await bob.get('/api/nothing');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'not_found');
});

test('SIGTERM: the example closes its server and store and exits 0', async () => {
  await assertStopsCleanly(example);
});
