/**
 * keycard/fetch on Bun and keycard/hono on Deno, as the examples run there (README commands, the
 * runtimes from node_modules/.bin, SQLite through each runtime's own driver), driven from Node over HTTP:
 * - examples/bun (`Bun.serve` + `createFetchHandler` + `authenticate`, api preset) and examples/deno
 *   (`Deno.serve` + Hono + `keycardHono`, spa preset) each answer the auth API conversation exactly as
 *   a `keycard serve` with the same preset and users does;
 * - their own routes: 401 without a credential, 200 with one, 403 for a non-admin on the admin route,
 *   and each one's abuse cases (a tampered or revoked token; a note posted cross-site or without its
 *   CSRF token);
 * - SIGTERM ends each cleanly.
 * Every process starts at once, before the first test. Locally a runtime that does not start skips its
 * tests with the reason; under CI=true it is a failure (runtimeSkipReason).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertDocumentedAnswers, CONVERSATION_PASSWORD, converse } from '../helpers/api-conversation.js';
import {
  assertStopsCleanly,
  type RunningExample,
  startExample,
  startReferenceServer,
} from '../helpers/examples.js';
import { Client, request } from '../helpers/http.js';
import { type RuntimeName, runtimeBinary, runtimeSkipReason } from '../helpers/runtimes.js';
import type { TestServer } from '../helpers/server.js';

/**
 * What Deno needs to run examples/deno (its README says why): the SQLite file, listening, KEYCARD_STORE
 * and PORT, argon2's addon, and the process's user and group ids (node:fs accessSync on Deno).
 */
const DENO_EXAMPLE_PERMISSIONS = [
  '--allow-read',
  '--allow-write',
  '--allow-net',
  '--allow-env',
  '--allow-ffi',
  '--allow-sys=uid,gid',
];

const EXAMPLES: Record<RuntimeName, { preset: string; args: string[] }> = {
  bun: { preset: 'api', args: ['--conditions=source', 'examples/bun/server.ts'] },
  deno: {
    preset: 'spa',
    args: [
      'run',
      ...DENO_EXAMPLE_PERMISSIONS,
      '--conditions=source',
      '--sloppy-imports',
      'examples/deno/main.ts',
    ],
  },
};

const skips: Record<RuntimeName, string | undefined> = {
  bun: runtimeSkipReason('bun'),
  deno: runtimeSkipReason('deno'),
};
const running: Partial<Record<RuntimeName, { example: RunningExample; served: TestServer }>> = {};

before(async () => {
  const started = (Object.keys(EXAMPLES) as RuntimeName[])
    .filter((runtime) => skips[runtime] === undefined)
    .map(async (runtime) => {
      const { preset, args } = EXAMPLES[runtime];
      const [example, served] = await Promise.all([
        startExample(runtimeBinary(runtime), args),
        startReferenceServer(preset),
      ]);
      running[runtime] = { example, served };
    });
  // Every start settles before any failure is reported, so after() finds all there is to stop.
  const results = await Promise.allSettled(started);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});
after(async () => {
  for (const { example, served } of Object.values(running)) {
    example.kill();
    await served.close();
  }
});

function started(runtime: RuntimeName): { example: RunningExample; served: TestServer } {
  const found = running[runtime];
  assert.ok(found, `${runtime}: the example did not start`);
  return found;
}

async function conversationMatches(runtime: RuntimeName): Promise<void> {
  const { example, served } = started(runtime);
  const { preset } = EXAMPLES[runtime];
  const [fromServe, fromExample] = await Promise.all([
    converse(served.url, preset),
    converse(example.url, preset),
  ]);
  assert.deepEqual(fromExample, fromServe);
  assertDocumentedAnswers(fromServe, preset);
}

async function login(
  url: string,
  username: string,
): Promise<{ client: Client; body: Record<string, string> }> {
  const client = new Client(url);
  const response = await client.post('/auth/login', { json: { username, password: CONVERSATION_PASSWORD } });
  assert.equal(response.status, 200, response.text);
  return { client, body: response.json };
}

describe('examples/bun: Bun.serve with createFetchHandler and authenticate (api preset)', {
  skip: skips.bun,
}, () => {
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  test('the auth API answers the conversation exactly as keycard serve does', async () => {
    await conversationMatches('bun');
  });

  test('authenticate() on its own routes: 401 without a token or with a tampered one, 200 with one, 403 for a user on the admin route', async () => {
    const { url } = started('bun').example;
    const anonymous = await request(url, 'GET', '/api/profile');
    assert.equal(anonymous.status, 401, anonymous.text);
    assert.equal(anonymous.json.error.code, 'unauthenticated');

    const bob = (await login(url, 'bob')).body.access_token as string;
    const profile = await request(url, 'GET', '/api/profile', bearer(bob));
    assert.equal(profile.status, 200, profile.text);
    assert.equal(profile.json.user.username, 'bob');
    const [header, payload, signature] = bob.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const forged = await request(
      url,
      'GET',
      '/api/admin/users',
      bearer(`${header}.${promoted}.${signature}`),
    );
    assert.equal(forged.status, 401, forged.text);

    const refused = await request(url, 'GET', '/api/admin/users', bearer(bob));
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error.code, 'forbidden');

    const alice = (await login(url, 'alice')).body.access_token as string;
    const users = await request(url, 'GET', '/api/admin/users', bearer(alice));
    assert.equal(users.status, 200, users.text);
    assert.deepEqual(users.json.users.map((user: { username: string }) => user.username).sort(), [
      'alice',
      'bob',
      'carol',
    ]);
    assert.equal(
      (await request(url, 'GET', '/api/nothing', bearer(alice))).json.error.code,
      'not_found',
      'an unknown path is a JSON 404',
    );
  });

  test("after logout, the admin route (live: true) refuses the admin's unexpired token", async () => {
    const { url } = started('bun').example;
    const alice = (await login(url, 'alice')).body.access_token as string;
    assert.equal((await request(url, 'GET', '/api/admin/users', bearer(alice))).status, 200);
    assert.equal((await request(url, 'POST', '/auth/logout', bearer(alice))).status, 200);
    const revoked = await request(url, 'GET', '/api/admin/users', bearer(alice));
    assert.equal(revoked.status, 401, revoked.text);
    assert.equal(revoked.json.error.code, 'token_revoked');
  });

  test('SIGTERM: the example exits 0', async () => {
    await assertStopsCleanly(started('bun').example);
  });
});

describe('examples/deno: Deno.serve with Hono and keycardHono (spa preset)', { skip: skips.deno }, () => {
  const sameOrigin = (url: string) => ({ origin: url, 'sec-fetch-site': 'same-origin' });

  test('the auth API answers the conversation exactly as keycard serve does', async () => {
    await conversationMatches('deno');
  });

  test('requireAuth and requireRole: 401 signed out, 200 signed in, 403 for a user on the admin route', async () => {
    const { url } = started('deno').example;
    const anonymous = await request(url, 'GET', '/api/profile');
    assert.equal(anonymous.status, 401, anonymous.text);
    assert.equal((await request(url, 'GET', '/api/admin/users')).status, 401);

    const { client: bob } = await login(url, 'bob');
    const profile = await bob.get('/api/profile');
    assert.equal(profile.status, 200, profile.text);
    assert.equal(profile.json.user.username, 'bob');
    const refused = await bob.get('/api/admin/users');
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error.code, 'forbidden');

    const { client: alice } = await login(url, 'alice');
    const users = await alice.get('/api/admin/users');
    assert.equal(users.status, 200, users.text);
    assert.deepEqual(users.json.users.map((user: { username: string }) => user.username).sort(), [
      'alice',
      'bob',
      'carol',
    ]);
    assert.equal((await alice.get('/api/nothing')).json.error.code, 'not_found');
  });

  test("a note posted with the cookie: refused cross-site and without the CSRF token, kept with it; c.get('body') is checked", async () => {
    const { url } = started('deno').example;
    const { client: bob, body } = await login(url, 'bob');
    const note = { json: { text: 'buy milk' } };
    const crossSite = await bob.post('/api/notes', {
      ...note,
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(crossSite.status, 403, crossSite.text);
    assert.equal(crossSite.json.error.code, 'cross_site_request');
    const tokenless = await bob.post('/api/notes', { ...note, headers: sameOrigin(url) });
    assert.equal(tokenless.status, 403, tokenless.text);
    assert.equal(tokenless.json.error.code, 'csrf_rejected');
    assert.deepEqual((await bob.get('/api/notes')).json, { notes: [] });

    const headers = { ...sameOrigin(url), 'x-csrf-token': body.csrf_token as string };
    const kept = await bob.post('/api/notes', { ...note, headers });
    assert.equal(kept.status, 201, kept.text);
    assert.deepEqual(kept.json, { notes: ['buy milk'] });
    const empty = await bob.post('/api/notes', { json: { text: '' }, headers });
    assert.equal(empty.status, 400, empty.text);
    assert.equal(empty.json.error.code, 'invalid_request');
    const malformed = await bob.post('/api/notes', {
      body: '{"text":',
      headers: { ...headers, 'content-type': 'application/json' },
    });
    assert.equal(malformed.status, 400, malformed.text);

    // Signed out, the cookie is gone and the notes are out of reach.
    assert.equal((await bob.post('/auth/logout', { headers })).status, 200);
    assert.equal((await bob.get('/api/notes')).status, 401);
  });

  test('SIGTERM: the example exits 0', async () => {
    await assertStopsCleanly(started('deno').example);
  });
});
