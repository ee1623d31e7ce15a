/**
 * The route schemas refuse bad input the same way on both hosts (issue 19): oversized strings, wrong
 * types, missing fields, bodies that are no object, `__proto__` in a JSON body, a form or a query,
 * malformed ids, page queries and durations — each a 400 `invalid_request` naming the field, the same
 * status and body from `keycard serve` and from `createFetchHandler` on the same keycard.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFetchHandler, type FetchHandler } from '../../src/api/fetch.js';
import { Client, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';

interface Case {
  name: string;
  method: string;
  path: string;
  /** Signed in as the admin. */
  admin?: boolean;
  json?: unknown;
  /** Sent as is, with its Content-Type. */
  raw?: { body: string; type: string };
  /** The error's code (or the OAuth error for /auth/token), message and field. */
  expect: { message: string; field?: string; oauth?: boolean };
}

const long = (n: number) => 'x'.repeat(n);
const form = (body: string) => ({ body, type: 'application/x-www-form-urlencoded' });
const json = (body: string) => ({ body, type: 'application/json' });

const CASES: Case[] = [
  // Sizes
  {
    name: 'an oversized username',
    method: 'POST',
    path: '/auth/login',
    json: { username: long(257), password: PASSWORD },
    expect: { message: 'username must be at most 256 characters', field: 'username' },
  },
  {
    name: 'an oversized password for a new user',
    method: 'POST',
    path: '/auth/admin/users',
    admin: true,
    json: { username: 'erin', password: long(4097) },
    expect: { message: 'password must be at most 4096 characters', field: 'password' },
  },
  {
    name: 'an oversized refresh token',
    method: 'POST',
    path: '/auth/refresh',
    json: { refresh_token: long(513) },
    expect: { message: 'refresh_token must be at most 512 characters', field: 'refresh_token' },
  },
  {
    name: 'an oversized client name',
    method: 'POST',
    path: '/auth/admin/clients',
    admin: true,
    json: { name: long(101), scopes: ['orders:read'] },
    expect: { message: 'name must be at most 100 characters', field: 'name' },
  },
  {
    name: 'an oversized client_id at the token endpoint',
    method: 'POST',
    path: '/auth/token',
    raw: form(`grant_type=client_credentials&client_id=${long(257)}&client_secret=s`),
    expect: { message: 'client_id must be at most 256 characters', oauth: true },
  },
  {
    name: 'an oversized cursor',
    method: 'GET',
    path: `/auth/sessions?cursor=${long(257)}`,
    admin: true,
    expect: { message: 'cursor must be the value a previous page returned', field: 'cursor' },
  },
  // Types
  {
    name: 'a number for a username',
    method: 'POST',
    path: '/auth/login',
    json: { username: 42, password: PASSWORD },
    expect: { message: 'username must be a string', field: 'username' },
  },
  {
    name: 'an object for a role',
    method: 'POST',
    path: '/auth/admin/users',
    admin: true,
    json: { username: 'erin', password: PASSWORD, role: { admin: true } },
    expect: { message: 'role must be a string', field: 'role' },
  },
  {
    name: 'a word that is no yes/no for keepCurrent (and nothing is ended)',
    method: 'POST',
    path: '/auth/logout-all',
    admin: true,
    json: { keepCurrent: 'maybe' },
    expect: { message: 'keepCurrent must be true or false', field: 'keepCurrent' },
  },
  {
    name: 'a number for keepCurrent',
    method: 'POST',
    path: '/auth/logout-all',
    admin: true,
    json: { keepCurrent: 1 },
    expect: { message: 'keepCurrent must be true or false', field: 'keepCurrent' },
  },
  {
    name: 'a string for scopes',
    method: 'POST',
    path: '/auth/admin/clients',
    admin: true,
    json: { name: 'billing', scopes: 'orders:read' },
    expect: { message: 'scopes must be a non-empty list such as ["orders:read"]', field: 'scopes' },
  },
  {
    name: 'an overlap that is no duration',
    method: 'POST',
    path: '/auth/admin/clients/kc_AAAAAAAAAAAAAAAAAAAAAA/rotate-secret',
    admin: true,
    json: { overlap: '1y' },
    expect: { message: "overlap must be a duration such as '1h' or '30m'", field: 'overlap' },
  },
  ...['0', '1001', 'abc', '1.5', '-1', '00001'].map(
    (limit): Case => ({
      name: `limit=${limit}`,
      method: 'GET',
      path: `/auth/admin/users?limit=${limit}`,
      admin: true,
      expect: { message: 'limit must be a whole number from 1 to 1000', field: 'limit' },
    }),
  ),
  {
    name: 'a repeated limit',
    method: 'GET',
    path: '/auth/sessions?limit=1&limit=2',
    admin: true,
    expect: { message: 'limit must be a whole number from 1 to 1000', field: 'limit' },
  },
  {
    name: 'a session id that is no id',
    method: 'DELETE',
    path: '/auth/sessions/not-an-id',
    admin: true,
    expect: { message: 'id is not a valid id', field: 'id' },
  },
  // Missing fields and bodies that are no object
  {
    name: 'no password',
    method: 'POST',
    path: '/auth/login',
    json: { username: 'alice' },
    expect: { message: 'password is required', field: 'password' },
  },
  {
    name: 'an empty username',
    method: 'POST',
    path: '/auth/login',
    json: { username: '', password: PASSWORD },
    expect: { message: 'username is required', field: 'username' },
  },
  {
    name: 'an array for a body',
    method: 'POST',
    path: '/auth/login',
    json: [],
    expect: { message: 'the body must be an object with username, password and remember' },
  },
  {
    name: 'no body where one is required',
    method: 'POST',
    path: '/auth/admin/users',
    admin: true,
    expect: { message: 'send a JSON or form body with username, password, role and email' },
  },
  {
    name: 'no grant_type',
    method: 'POST',
    path: '/auth/token',
    raw: form('scope=orders'),
    expect: { message: 'grant_type is required', oauth: true },
  },
  // __proto__
  {
    name: '__proto__ in a JSON body',
    method: 'POST',
    path: '/auth/login',
    raw: json(`{"__proto__": {"role": "admin"}, "username": "alice", "password": "${PASSWORD}"}`),
    expect: { message: 'the JSON body has a forbidden key (__proto__)' },
  },
  {
    name: '__proto__ in a form',
    method: 'POST',
    path: '/auth/admin/users',
    admin: true,
    raw: form(`__proto__=x&username=erin&password=${encodeURIComponent(PASSWORD)}`),
    expect: { message: 'the request has a forbidden key (__proto__)' },
  },
  {
    name: '__proto__ in a query',
    method: 'GET',
    path: '/auth/sessions?__proto__=x',
    admin: true,
    expect: { message: 'the request has a forbidden key (__proto__)' },
  },
];

describe('route schemas refuse bad input alike on keycard serve and keycard/fetch', () => {
  let server: TestServer;
  let handler: FetchHandler;
  let cookie: string;

  before(async () => {
    server = await startTestServer({ storeURL: 'memory:' });
    await server.keycard.users.create({ username: 'alice', password: PASSWORD, role: 'admin' });
    handler = createFetchHandler(server.keycard, { onError: () => {} });
    const alice = new Client(server.url);
    const login = await alice.post('/auth/login', { json: { username: 'alice', password: PASSWORD } });
    assert.equal(login.status, 200);
    cookie = alice.cookieHeader() as string;
  });
  after(() => server?.close());

  for (const item of CASES) {
    test(item.name, async () => {
      // Host: the cookie policy reads it (localhost over http: cookies without the __Host- prefix).
      const headers: Record<string, string> = item.admin
        ? { cookie, host: '127.0.0.1' }
        : { host: '127.0.0.1' };
      let body: string | undefined;
      if (item.json !== undefined) {
        body = JSON.stringify(item.json);
        headers['content-type'] = 'application/json';
      } else if (item.raw) {
        body = item.raw.body;
        headers['content-type'] = item.raw.type;
      }
      const served = await request(server.url, item.method, item.path, { body, headers });
      const fetched = await handler(
        new Request(`http://127.0.0.1${item.path}`, { method: item.method, headers, body }),
      );
      const expected = item.expect.oauth
        ? { error: 'invalid_request', error_description: item.expect.message }
        : {
            error: {
              code: 'invalid_request',
              message: item.expect.message,
              ...(item.expect.field ? { field: item.expect.field } : {}),
            },
          };
      assert.equal(served.status, 400, served.text);
      assert.equal(fetched.status, 400);
      const fetchedText = await fetched.text();
      if (String(served.headers['content-type']).startsWith('text/html')) {
        // A form post from a page gets the error page, saying the same.
        assert.ok(served.text.includes(item.expect.message), served.text);
        assert.ok(fetchedText.includes(item.expect.message), fetchedText);
        return;
      }
      assert.deepEqual(served.json, expected);
      assert.deepEqual(JSON.parse(fetchedText), expected);
    });
  }

  test('the admin is still signed in: no refused request ended a login', async () => {
    const me = await request(server.url, 'GET', '/auth/me', { headers: { cookie } });
    assert.equal(me.status, 200);
  });
});
