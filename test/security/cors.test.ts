/**
 * CORS for a front end on another origin, over real HTTP, on both hosts of the auth API: `keycard serve`
 * and `createFetchHandler` (over @hono/node-server). Both trust `https://app.example.com` only; the API is
 * `auth.example.com` (the Host header), the front end's sibling on the same site. What is held: a trusted
 * origin gets its own origin back with credentials (never `*`), its preflights are answered, a login with
 * the cookie transport works end to end; every other origin — `null`, another port or scheme, a suffix,
 * garbage — gets no CORS headers, a refused preflight names it, and CORS never lets a request past the
 * CSRF defences.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { createFetchHandler } from '../../src/api/fetch.js';
import { Client, type RequestOptions, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TRUSTED = 'https://app.example.com';
const HOST = 'auth.example.com';
const PASSWORD = 'front-end-password';

/** What a browser on `origin` adds to a fetch of the API (the front end's sibling: same site). */
function from(origin: string, headers: Record<string, string> = {}): Record<string, string> {
  return { host: HOST, origin, 'sec-fetch-site': 'same-site', ...headers };
}

function preflight(method = 'POST', headers = 'content-type, x-csrf-token'): Record<string, string> {
  return { 'access-control-request-method': method, 'access-control-request-headers': headers };
}

const UNTRUSTED: Record<string, string> = {
  'an opaque origin': 'null',
  'another port': 'https://app.example.com:8443',
  'another scheme': 'http://app.example.com',
  'a suffix of the trusted origin': 'https://app.example.com.evil.test',
  'a prefix of the trusted origin': 'https://app.example.co',
  'the trusted origin with a path': 'https://app.example.com/',
  'upper case': 'HTTPS://APP.EXAMPLE.COM',
  'an unrelated site': 'https://evil.test',
  garbage: `https://${'a'.repeat(4000)}.test\u00ff\t'"<>x`,
};

function assertNoCORS(headers: Record<string, unknown>, what: string): void {
  for (const name of Object.keys(headers)) {
    if (name.startsWith('access-control-')) assert.fail(`${what}: no CORS header expected, got ${name}`);
  }
}

function assertAllowed(headers: Record<string, unknown>, what: string): void {
  assert.equal(headers['access-control-allow-origin'], TRUSTED, what);
  assert.equal(headers['access-control-allow-credentials'], 'true', what);
  assert.match(String(headers.vary), /\bOrigin\b/, what);
}

interface Host {
  name: string;
  url: string;
  server: TestServer;
}

/** `keycard serve` and `createFetchHandler` (on a second server's keycard) started with `flags`. */
async function startHosts(
  flags: Record<string, unknown>,
): Promise<{ hosts: Host[]; close(): Promise<void> }> {
  const [served, behind] = await Promise.all([startTestServer({ flags }), startTestServer({ flags })]);
  const servers = [served, behind];
  await Promise.all(
    servers.map((server) => server.keycard.users.create({ username: 'fran', password: PASSWORD })),
  );
  const handler = createFetchHandler(behind.keycard);
  const fetchServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const server = serve(
      { fetch: (req: Request) => handler(req, { ip: '127.0.0.1' }), port: 0, hostname: '127.0.0.1' },
      () => resolve(server),
    );
  });
  const fetchURL = `http://127.0.0.1:${(fetchServer.address() as { port: number }).port}`;
  return {
    hosts: [
      { name: 'keycard serve', url: served.url, server: served },
      { name: 'keycard/fetch', url: fetchURL, server: behind },
    ],
    async close() {
      await new Promise<void>((resolve) => fetchServer.close(() => resolve()));
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** Declares the test once per host. */
function onEachHost(hosts: () => Host[]) {
  return (name: string, body: (host: Host) => Promise<void>) => {
    for (const hostName of ['keycard serve', 'keycard/fetch']) {
      test(`${hostName}: ${name}`, () => body(hosts().find((host) => host.name === hostName) as Host));
    }
  };
}

const send = (host: Host, method: string, path: string, options: RequestOptions = {}) =>
  request(host.url, method, path, options);

describe('CORS for a front end on another origin (cookie transport)', () => {
  let started: Awaited<ReturnType<typeof startHosts>> | undefined;
  before(async () => {
    started = await startHosts({ 'trusted-origin': TRUSTED });
  });
  after(async () => {
    await started?.close();
  });
  const each = onEachHost(() => started?.hosts ?? []);

  each('a preflight from the trusted origin is answered 204 with what the API needs', async (host) => {
    for (const path of ['/auth/login', '/auth/sessions/abc', '/.well-known/jwks.json']) {
      const response = await send(host, 'OPTIONS', path, { headers: from(TRUSTED, preflight('DELETE')) });
      assert.equal(response.status, 204, `${path}: ${response.text}`);
      assertAllowed(response.headers, path);
      assert.equal(response.text, '');
      const methods = String(response.headers['access-control-allow-methods']).split(', ');
      for (const method of ['GET', 'POST', 'DELETE']) assert.ok(methods.includes(method), method);
      const allowed = String(response.headers['access-control-allow-headers']).toLowerCase().split(', ');
      for (const name of ['content-type', 'x-csrf-token', 'authorization']) assert.ok(allowed.includes(name));
      assert.equal(response.headers['access-control-max-age'], '600');
    }
  });

  test("keycard serve: /auth/client.js is any origin's, without credentials, even from a trusted origin", async () => {
    const host = started?.hosts.find((entry) => entry.name === 'keycard serve') as Host;
    for (const origin of [TRUSTED, 'https://elsewhere.example']) {
      const response = await send(host, 'GET', '/auth/client.js', { headers: from(origin) });
      assert.equal(response.status, 200, origin);
      assert.equal(response.headers['access-control-allow-origin'], '*', origin);
      // `*` with credentials is a combination browsers refuse outright: none is offered.
      assert.equal(response.headers['access-control-allow-credentials'], undefined, origin);
    }
  });

  each('a preflight from any other origin is refused 403, naming it and the setting', async (host) => {
    for (const [what, origin] of Object.entries(UNTRUSTED)) {
      const response = await send(host, 'OPTIONS', '/auth/login', { headers: from(origin, preflight()) });
      assert.equal(response.status, 403, what);
      assertNoCORS(response.headers, what);
      assert.equal(response.json.error.code, 'cors_origin_refused', what);
      const { message } = response.json.error as { message: string };
      assert.match(message, /trustedOrigins/, what);
      assert.match(message, /--trusted-origin/, what);
      assert.ok(message.length < 600, `${what}: the message stays short`);
      if (origin.length < 100) assert.ok(message.includes(`'${origin}'`), `${what}: names ${origin}`);
      else assert.ok(message.includes(origin.slice(0, 60)), `${what}: names the start of the origin`);
      assert.doesNotMatch(message, /[^\x20-\x7e…]/, `${what}: printable ASCII only`);
    }
  });

  each('GET and POST answers to the trusted origin carry its origin, credentials and Vary', async (host) => {
    const csrf = await send(host, 'GET', '/auth/csrf', { headers: from(TRUSTED) });
    assert.equal(csrf.status, 200);
    assertAllowed(csrf.headers, 'GET /auth/csrf');
    assert.equal(csrf.headers['access-control-expose-headers'], 'Retry-After');
    // An error answer too, so the page can read why it was refused.
    const login = await send(host, 'POST', '/auth/login', {
      json: { username: 'fran', password: 'wrong-password-here' },
      headers: from(TRUSTED, {
        'x-csrf-token': csrf.json.token,
        cookie: csrf.setCookies[0]?.split(';')[0] ?? '',
      }),
    });
    assert.equal(login.status, 401, login.text);
    assertAllowed(login.headers, 'a 401');
  });

  each('answers to any other origin carry no CORS headers, and never a wildcard', async (host) => {
    for (const [what, origin] of Object.entries(UNTRUSTED)) {
      for (const [method, path] of [
        ['GET', '/auth/csrf'],
        ['GET', '/auth/me'],
        ['POST', '/auth/login'],
      ] as const) {
        const response = await send(host, method, path, {
          headers: from(origin),
          ...(method === 'POST' ? { json: { username: 'fran', password: PASSWORD } } : {}),
        });
        assertNoCORS(response.headers, `${what}: ${method} ${path}`);
      }
    }
    // Nor to a request with no Origin at all.
    assertNoCORS((await send(host, 'GET', '/auth/csrf', { headers: { host: HOST } })).headers, 'no Origin');
  });

  each('a login from the trusted origin works end to end with the cookie transport', async (host) => {
    const browser = new Client(host.url);
    const ask = await browser.request('OPTIONS', '/auth/login', { headers: from(TRUSTED, preflight()) });
    assert.equal(ask.status, 204);
    const csrf = await browser.get('/auth/csrf', { headers: from(TRUSTED) });
    assert.equal(csrf.status, 200);
    assertAllowed(csrf.headers, 'csrf');
    assert.equal(csrf.setCookies.length, 1, 'the pre-login cookie');
    const login = await browser.post('/auth/login', {
      json: { username: 'fran', password: PASSWORD },
      headers: from(TRUSTED, { 'x-csrf-token': csrf.json.token }),
    });
    assert.equal(login.status, 200, login.text);
    assertAllowed(login.headers, 'login');
    assert.ok(login.setCookies.some((cookie) => /^__Host-keycard_session=/.test(cookie)));
    const me = await browser.get('/auth/me', { headers: from(TRUSTED) });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.username, 'fran');
    assertAllowed(me.headers, 'me');
    const logout = await browser.post('/auth/logout', {
      headers: from(TRUSTED, { 'x-csrf-token': login.json.csrf_token }),
    });
    assert.equal(logout.status, 200, logout.text);
    assertAllowed(logout.headers, 'logout');
    assert.equal((await browser.get('/auth/me', { headers: from(TRUSTED) })).status, 401);
  });

  test('keycard serve: the pages and health routes get no CORS headers', async () => {
    const served = started?.hosts[0] as Host;
    for (const path of ['/login', '/healthz', '/assets/keycard.css']) {
      const response = await send(served, 'GET', path, { headers: from(TRUSTED) });
      assert.ok(response.status < 400, `${path}: ${response.status}`);
      assertNoCORS(response.headers, path);
    }
    const ask = await send(served, 'OPTIONS', '/login', { headers: from(TRUSTED, preflight()) });
    assertNoCORS(ask.headers, 'a preflight for a page');
  });

  each('CORS does not bypass CSRF: a trusted origin still needs the token', async (host) => {
    // guards: an allowed origin must not be mistaken for a request that needs no CSRF token
    const browser = new Client(host.url);
    const csrf = await browser.get('/auth/csrf', { headers: from(TRUSTED) });
    const noTokenLogin = await browser.post('/auth/login', {
      json: { username: 'fran', password: PASSWORD },
      headers: from(TRUSTED),
    });
    assert.equal(noTokenLogin.status, 403, noTokenLogin.text);
    assert.equal(noTokenLogin.json.error.code, 'csrf_rejected');
    const login = await browser.post('/auth/login', {
      json: { username: 'fran', password: PASSWORD },
      headers: from(TRUSTED, { 'x-csrf-token': csrf.json.token }),
    });
    assert.equal(login.status, 200, login.text);
    const logout = await browser.post('/auth/logout', { headers: from(TRUSTED) });
    assert.equal(logout.status, 403, logout.text);
    assert.equal(logout.json.error.code, 'csrf_rejected');
    assertAllowed(logout.headers, 'the refusal is readable by the trusted page');
    // An untrusted origin with the cookie and a valid token is refused by the origin check.
    for (const [what, origin] of Object.entries(UNTRUSTED)) {
      const forged = await browser.post('/auth/logout', {
        headers: from(origin, { 'x-csrf-token': login.json.csrf_token, 'sec-fetch-site': 'cross-site' }),
      });
      assert.equal(forged.status, 403, what);
      assert.equal(forged.json.error.code, 'cross_site_request', what);
      assertNoCORS(forged.headers, what);
    }
    assert.equal((await browser.get('/auth/me', { headers: from(TRUSTED) })).status, 200, 'still signed in');
  });
});

describe('CORS for a front end on another site (header transport)', () => {
  let started: Awaited<ReturnType<typeof startHosts>> | undefined;
  const SHOP = 'https://shop.example';
  before(async () => {
    started = await startHosts({ 'trusted-origin': SHOP, preset: 'api' });
  });
  after(async () => {
    await started?.close();
  });
  const each = onEachHost(() => started?.hosts ?? []);
  const crossSite = (headers: Record<string, string> = {}) =>
    from(SHOP, { 'sec-fetch-site': 'cross-site', ...headers });

  each('logs in, calls with the Bearer token and refreshes, reading every answer', async (host) => {
    const ask = await send(host, 'OPTIONS', '/auth/me', {
      headers: crossSite(preflight('GET', 'authorization')),
    });
    assert.equal(ask.status, 204);
    assert.equal(ask.headers['access-control-allow-origin'], SHOP);
    // No cookie and no CSRF token: a Bearer token is no ambient credential.
    const login = await send(host, 'POST', '/auth/login', {
      json: { username: 'fran', password: PASSWORD },
      headers: crossSite(),
    });
    assert.equal(login.status, 200, login.text);
    assert.equal(login.headers['access-control-allow-origin'], SHOP);
    assert.equal(login.setCookies.length, 0);
    const bearer = { authorization: `Bearer ${login.json.access_token}` };
    const me = await send(host, 'GET', '/auth/me', { headers: crossSite(bearer) });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.headers['access-control-allow-origin'], SHOP);
    const refreshed = await send(host, 'POST', '/auth/refresh', {
      json: { refresh_token: login.json.refresh_token },
      headers: crossSite(),
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.headers['access-control-allow-origin'], SHOP);
    // The same calls from an untrusted site: answered, but the browser keeps them from the page.
    const other = await send(host, 'GET', '/auth/me', {
      headers: { ...crossSite(bearer), origin: 'https://shop.example.evil.test' },
    });
    assertNoCORS(other.headers, 'an untrusted site');
  });
});

describe('keycard/fetch: CORS stays off the fallback', () => {
  test("an app's own paths reach the fallback, preflights included, without keycard's headers", async () => {
    const served = await startTestServer({ flags: { 'trusted-origin': TRUSTED } });
    try {
      const seen: string[] = [];
      const handler = createFetchHandler(served.keycard, {
        fallback: async (req) => {
          seen.push(`${req.method} ${new URL(req.url).pathname}`);
          return new Response('app', { status: 200 });
        },
      });
      const headers = { origin: TRUSTED, ...preflight() };
      const own = await handler(
        new Request('https://auth.example.com/app/orders', { method: 'OPTIONS', headers }),
      );
      assert.equal(await own.text(), 'app');
      const names: Record<string, string> = {};
      own.headers.forEach((value, name) => {
        names[name] = value;
      });
      assertNoCORS(names, 'the fallback');
      const api = await handler(
        new Request('https://auth.example.com/auth/login', { method: 'OPTIONS', headers }),
      );
      assert.equal(api.status, 204);
      assert.equal(api.headers.get('access-control-allow-origin'), TRUSTED);
      assert.deepEqual(seen, ['OPTIONS /app/orders']);
    } finally {
      await served.close();
    }
  });
});
