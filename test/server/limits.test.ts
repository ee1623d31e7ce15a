/**
 * Every size limit of the server, each tested at its edge over real HTTP: the header section (431), the
 * body (413), cookies (count and bytes, 400 before any store I/O, in both strategies), a Bearer token,
 * username and password lengths, and URL / route-parameter length.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkCookieHeader, MAX_COOKIE_HEADER_BYTES, MAX_COOKIES } from '../../src/core/cookies/parse.js';
import { KeycardError } from '../../src/core/errors.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'tulip-Quartz-7781-harbor';
const COOKIE = 'keycard_session';

/** `count` cookies that are not ours, then ours (if given) last, so the whole header must be read. */
function cookieHeader(count: number, session?: string): string {
  const pairs = Array.from({ length: count }, (_, i) => `c${i}=v${i}`);
  if (session) pairs[count - 1] = `${COOKIE}=${session}`;
  return pairs.join('; ');
}

describe('limits: session strategy, default settings', () => {
  let server: TestServer;
  let counting: CountingStore;
  let session: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keycard-limits-'));
    counting = countingStore(new SQLiteStore({ path: join(dir, 'keycard.db') }));
    server = await startTestServer({ store: counting.store });
    await server.keycard.users.create({ username: 'alice', password: PASSWORD });
    const login = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: PASSWORD },
    });
    assert.equal(login.status, 200);
    session = (login.setCookies[0] ?? '').split(';')[0]?.split('=')[1] ?? '';
    assert.match(session, /^[A-Za-z0-9_-]{43}$/);
  });
  after(async () => {
    await server?.close();
  });

  test('header section: 16 KiB by default; beyond it, 431 in keycard’s error shape', async () => {
    const under = await request(server.url, 'GET', '/healthz', {
      headers: { 'x-filler': 'a'.repeat(15_000) },
    });
    assert.equal(under.status, 200);
    const over = await request(server.url, 'GET', '/healthz', {
      headers: { 'x-filler': 'a'.repeat(17_000) },
    });
    assert.equal(over.status, 431);
    assert.equal(over.json.error.code, 'header_too_large');
    assert.match(over.json.error.message, /16384 bytes/);
    assert.equal(over.headers['cache-control'], 'no-store');
    assert.equal((await request(server.url, 'GET', '/healthz')).status, 200, 'the server is still up');
  });

  test('URL: the request line counts against the header limit; a path parameter over 128 is 414', async () => {
    const long = await request(server.url, 'GET', `/auth/me?q=${'a'.repeat(17_000)}`);
    assert.equal(long.status, 431);
    const at = await request(server.url, 'DELETE', `/auth/sessions/${'a'.repeat(128)}`);
    assert.equal(at.status, 401, 'a 128-character parameter reaches the route (which wants a sign-in)');
    const beyond = await request(server.url, 'DELETE', `/auth/sessions/${'b'.repeat(129)}`);
    assert.equal(beyond.status, 414);
    assert.equal(beyond.json.error.code, 'uri_too_long');
    assert.equal(beyond.headers['cache-control'], 'no-store');
    assert.equal(beyond.text.includes('bbbbbbbb'), false, 'the URL is not echoed');
  });

  test('body: 16 KiB; beyond it, 413', async () => {
    const over = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'alice', password: PASSWORD, filler: 'a'.repeat(16_500) },
    });
    assert.equal(over.status, 413);
    assert.equal(over.json.error.code, 'payload_too_large');
  });

  test(`cookies: ${MAX_COOKIES} are read; one more is 400 before any store I/O`, async () => {
    counting.reset();
    const at = await request(server.url, 'GET', '/auth/me', {
      headers: { cookie: cookieHeader(MAX_COOKIES, session) },
    });
    assert.equal(at.status, 200, at.text);
    assert.equal(counting.counts.get('getLogin'), 1);
    counting.reset();
    const over = await request(server.url, 'GET', '/auth/me', {
      headers: { cookie: cookieHeader(MAX_COOKIES + 1, session) },
    });
    assert.equal(over.status, 400);
    assert.equal(over.json.error.code, 'invalid_request');
    assert.match(over.json.error.message, /more than 50 cookies/);
    assert.equal(
      [...counting.counts.values()].reduce((a, b) => a + b, 0),
      0,
      'no store call at all',
    );
  });

  test('cookies: a Cookie header over 8 KiB is 400 before any store I/O', async () => {
    const padding = (bytes: number) => `pad=${'p'.repeat(bytes - `pad=; ${COOKIE}=${session}`.length)}`;
    const at = await request(server.url, 'GET', '/auth/me', {
      headers: { cookie: `${padding(MAX_COOKIE_HEADER_BYTES)}; ${COOKIE}=${session}` },
    });
    assert.equal(at.status, 200, `exactly ${MAX_COOKIE_HEADER_BYTES} bytes is allowed`);
    counting.reset();
    const over = await request(server.url, 'GET', '/auth/me', {
      headers: { cookie: `${padding(MAX_COOKIE_HEADER_BYTES + 1)}; ${COOKIE}=${session}` },
    });
    assert.equal(over.status, 400);
    assert.match(over.json.error.message, /longer than 8192 bytes/);
    assert.equal(
      [...counting.counts.values()].reduce((a, b) => a + b, 0),
      0,
      'no store call at all',
    );
  });

  test('username: 256 characters reach the credential check, 257 are refused as input', async () => {
    const at = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'a'.repeat(256), password: 'whatever-password' },
    });
    assert.equal(at.status, 401);
    const over = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'a'.repeat(257), password: 'whatever-password' },
    });
    assert.equal(over.status, 400);
    assert.equal(over.json.error.field, 'username');
  });

  test('password: 4096 characters reach the credential check, 4097 are refused as input', async () => {
    const at = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'bob', password: 'p'.repeat(4096) },
    });
    assert.equal(at.status, 401);
    const over = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'bob', password: 'p'.repeat(4097) },
    });
    assert.equal(over.status, 400);
    assert.equal(over.json.error.field, 'password');
    assert.match(over.json.error.message, /at most 4096/);
  });
});

describe('limits: --max-header-bytes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ flags: { 'max-header-bytes': '32768' } });
  });
  after(async () => {
    await server?.close();
  });

  test('raises the header limit', async () => {
    assert.equal(server.config.maxHeaderBytes, 32_768);
    const big = await request(server.url, 'GET', '/healthz', { headers: { 'x-filler': 'a'.repeat(17_000) } });
    assert.equal(big.status, 200);
    const over = await request(server.url, 'GET', '/healthz', {
      headers: { 'x-filler': 'a'.repeat(33_000) },
    });
    assert.equal(over.status, 431);
    assert.match(over.json.error.message, /32768 bytes/);
  });

  test('is validated at start-up', async () => {
    await assert.rejects(
      startTestServer({ flags: { 'max-header-bytes': '100' } }),
      /--max-header-bytes: expected a whole number from 4096 to 1048576/,
    );
  });
});

describe('limits: jwt strategy', () => {
  let cookieServer: TestServer;
  let headerServer: TestServer;
  before(async () => {
    cookieServer = await startTestServer({ flags: { strategy: 'jwt', transport: 'cookie' } });
    headerServer = await startTestServer({ flags: { preset: 'api' } });
  });
  after(async () => {
    await cookieServer?.close();
    await headerServer?.close();
  });

  test('cookie transport: too many cookies or too many bytes → 400', async () => {
    const many = await request(cookieServer.url, 'GET', '/auth/me', {
      headers: { cookie: cookieHeader(MAX_COOKIES + 1) },
    });
    assert.equal(many.status, 400);
    assert.equal(many.json.error.code, 'invalid_request');
    const large = await request(cookieServer.url, 'GET', '/auth/me', {
      headers: { cookie: `keycard_access=${'a'.repeat(MAX_COOKIE_HEADER_BYTES)}` },
    });
    assert.equal(large.status, 400);
    const fine = await request(cookieServer.url, 'GET', '/auth/me', {
      headers: { cookie: cookieHeader(MAX_COOKIES) },
    });
    assert.equal(fine.status, 401, 'within the limits: simply not signed in');
  });

  test('a Bearer token over 8 KiB → 401, not echoed, and the server carries on', async () => {
    const segment = (n: number) => 'A'.repeat(n);
    const token = `${segment(40)}.${segment(9000)}.${segment(86)}`;
    const response = await request(headerServer.url, 'GET', '/auth/me', {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 401);
    assert.equal(response.text.includes(segment(100)), false, 'the token is not echoed');
    assert.equal((await request(headerServer.url, 'GET', '/healthz')).status, 200);
  });
});

describe('checkCookieHeader', () => {
  const refuses = (header: string) =>
    assert.throws(
      () => checkCookieHeader(header),
      (error) => error instanceof KeycardError && error.code === 'invalid_request',
    );

  test('counts pairs, not separators, and measures the whole header', () => {
    checkCookieHeader(undefined);
    checkCookieHeader(cookieHeader(MAX_COOKIES));
    checkCookieHeader(`${cookieHeader(MAX_COOKIES)};;; ;`);
    refuses(cookieHeader(MAX_COOKIES + 1));
    refuses(`;${cookieHeader(MAX_COOKIES + 1).replaceAll('; ', ';')}`);
    checkCookieHeader(`a=${'b'.repeat(MAX_COOKIE_HEADER_BYTES - 2)}`);
    refuses(`a=${'b'.repeat(MAX_COOKIE_HEADER_BYTES - 1)}`);
  });
});
