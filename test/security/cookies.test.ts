/**
 * Abuse suite: hostile Cookie headers and cookie-shaped input against a real `keycard serve`, in every
 * strategy whose browser credential is a cookie (session; jwt and hybrid with the cookie transport).
 *
 * - cookie tossing: our name twice (documented: unauthenticated, our cookie cleared, the login itself
 *   untouched), a non-prefixed twin and prefix look-alikes of a `__Host-` cookie, nameless pieces;
 * - `__proto__`, `constructor`, `toString` as cookie (and form field) names;
 * - serializer injection: nothing a client sends (username, path, query, Host, User-Agent) reaches the
 *   attributes of a Set-Cookie — every Set-Cookie the server sends is checked against one strict shape;
 * - oversized cookies and headers: the statuses of docs/security.md "Limits", and the server carries on.
 *
 * `__Host-` cookies are what the server sets outside plain-http localhost (docs/sessions.md); a request with
 * `Host: auth.example.com` gets them, as in test/server/auth.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, type Response, request } from '../helpers/http.js';
import {
  COOKIE_STRATEGIES,
  credentialCookie,
  credentialSetCookies,
  rawHTTP,
  type StrategyServer,
  startStrategyServer,
} from './helpers.js';

const PASSWORDS = { alice: 'marble-Osprey-6120-glacier', bob: 'cobalt-Lynx-8847-prairie' } as const;
const SECURE_HOST = { host: 'auth.example.com' };

/**
 * Every Set-Cookie keycard may send: one of its names, a base64url/JWS value (or empty, to delete),
 * then exactly its attributes in serializer order. Nothing else, so no injected attribute can hide in it.
 */
const SET_COOKIE =
  /^(?<name>(?:__Host-|__Secure-)?keycard_(?:session|access|refresh|csrf))=(?<value>[A-Za-z0-9._-]*)(?:; Max-Age=\d+)?; Path=(?<path>\/|\/auth\/refresh); HttpOnly(?<secure>; Secure)?; SameSite=(?:Lax|Strict)$/;

function assertWellFormedSetCookies(response: Response | { setCookies: string[] }, label: string): void {
  for (const header of response.setCookies) {
    const match = SET_COOKIE.exec(header);
    assert.ok(match?.groups, `${label}: unexpected Set-Cookie ${JSON.stringify(header)}`);
    const { name = '', path, secure } = match.groups;
    if (name.startsWith('__Host-')) assert.ok(secure && path === '/', `${label}: ${header}`);
    if (name.startsWith('__Secure-')) assert.ok(secure, `${label}: ${header}`);
    if (name.endsWith('keycard_refresh')) assert.equal(path, '/auth/refresh', label);
    else assert.equal(path, '/', label);
  }
}

/** The value of the cookie `name` set by `response`, if any. */
function setCookieValue(response: Response, name: string): string | undefined {
  for (const header of response.setCookies) {
    const pair = header.split(';')[0] ?? '';
    if (pair.slice(0, pair.indexOf('=')) === name) return pair.slice(pair.indexOf('=') + 1);
  }
  return undefined;
}

for (const strategy of COOKIE_STRATEGIES) {
  describe(`cookies: ${strategy} strategy`, () => {
    let server: StrategyServer;
    const ids: Record<string, string> = {};
    const name = credentialCookie(strategy);
    const hostName = credentialCookie(strategy, { secure: true });
    /** A signed-in browser on plain-http localhost, and its credential. */
    let browser: Client;
    let value: string;
    /** A credential issued on a secure host (so in a `__Host-` cookie). */
    let hostValue: string;

    before(async () => {
      server = await startStrategyServer(strategy);
      for (const [username, password] of Object.entries(PASSWORDS)) {
        const role = username === 'alice' ? 'admin' : 'user';
        ids[username] = (await server.keycard.users.create({ username, password, role })).id;
      }
      browser = new Client(server.url);
      const login = await browser.post('/auth/login', {
        json: { username: 'alice', password: PASSWORDS.alice },
      });
      assert.equal(login.status, 200, login.text);
      value = browser.cookies.get(name) as string;
      assert.ok(value);
      const secure = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'alice', password: PASSWORDS.alice },
        headers: SECURE_HOST,
      });
      assert.equal(secure.status, 200, secure.text);
      hostValue = setCookieValue(secure, hostName) as string;
      assert.ok(hostValue, `a secure host gets ${hostName}`);
    });
    after(async () => {
      await server?.close();
    });

    const aliceLogins = async () =>
      (await server.keycard.logins.listForUser(ids.alice as string)).map((login) => login.id).sort();
    const me = (cookie: string, headers: Record<string, string> = {}) =>
      request(server.url, 'GET', '/auth/me', { headers: { ...headers, cookie } });

    async function assertAuthenticated(cookie: string, headers: Record<string, string> = {}, label = cookie) {
      const response = await me(cookie, headers);
      assert.equal(response.status, 200, `${label}: ${response.text}`);
      assert.equal(response.json.user.username, 'alice', label);
    }

    async function assertUnauthenticated(
      cookie: string,
      headers: Record<string, string> = {},
      label = cookie,
    ) {
      const response = await me(cookie, headers);
      assert.equal(response.status, 401, `${label}: ${response.text}`);
      assert.equal(response.json.error.code, 'unauthenticated', label);
      assert.deepEqual(credentialSetCookies(response), [], `${label}: no credential handed out`);
      return response;
    }

    describe('cookie tossing', () => {
      test('our name twice in one request → 401, our cookie cleared; the login itself survives', async () => {
        const before = await aliceLogins();
        const forged = 'A'.repeat(value.length);
        for (const cookie of [
          `${name}=${value}; ${name}=${value}`,
          `${name}=${value}; ${name}=${forged}`,
          `${name}=${forged}; ${name}=${value}`,
          `${name}=${value}; other=1; ${name}=`,
          `${name}=${value};${name}=${value}`,
        ]) {
          const response = await assertUnauthenticated(cookie);
          assert.match(response.json.error.message, /two session cookies; both were ignored/);
          assert.deepEqual(
            response.setCookies,
            [`${name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`],
            cookie,
          );
        }
        // Two Cookie header lines: Node joins them with "; ", so this is the same duplicate.
        const raw = await rawHTTP(
          server.url,
          `GET /auth/me HTTP/1.1\r\nHost: localhost\r\nCookie: ${name}=${value}\r\nCookie: ${name}=${forged}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(raw.status, 401, raw.body);
        assert.match(raw.body, /two session cookies/);
        // An unsafe request with a duplicate is unauthenticated too: logout ends nothing, logout-all is 401.
        const logout = await request(server.url, 'POST', '/auth/logout', {
          headers: { cookie: `${name}=${value}; ${name}=${forged}` },
        });
        assert.equal(logout.status, 200, logout.text);
        const all = await request(server.url, 'POST', '/auth/logout-all', {
          headers: { cookie: `${name}=${value}; ${name}=${forged}` },
        });
        assert.equal(all.status, 401, all.text);
        assert.equal(all.json.error.code, 'unauthenticated');
        assert.deepEqual(await aliceLogins(), before, 'no login ended');
        await assertAuthenticated(`${name}=${value}`);
      });

      test('__Host- setup: a non-prefixed twin is never read, alone or beside ours', async () => {
        await assertAuthenticated(`${hostName}=${hostValue}`, SECURE_HOST);
        // Alone, the non-prefixed name (which a sibling subdomain could set) does not authenticate.
        await assertUnauthenticated(`${name}=${hostValue}`, SECURE_HOST);
        await assertUnauthenticated(`${name}=${value}`, SECURE_HOST);
        // Beside ours it neither replaces it nor makes a duplicate.
        const forged = 'A'.repeat(hostValue.length);
        await assertAuthenticated(`${name}=${forged}; ${hostName}=${hostValue}`, SECURE_HOST);
        await assertAuthenticated(`${hostName}=${hostValue}; ${name}=${forged}`, SECURE_HOST);
      });

      test('prefix look-alikes are other names: __host-, __HOST-, __Secure- on a __Host- setup', async () => {
        const base = name; // keycard_session or keycard_access
        for (const spoof of [
          `__host-${base}`,
          `__HOST-${base}`,
          `__Host-${base.toUpperCase()}`,
          `__Secure-${base}`,
        ]) {
          const response = await assertUnauthenticated(`${spoof}=${hostValue}`, SECURE_HOST, spoof);
          assert.deepEqual(response.setCookies, [], `${spoof}: not ours, so not even cleared`);
          await assertAuthenticated(
            `${spoof}=AAAA; ${hostName}=${hostValue}`,
            SECURE_HOST,
            `${spoof} beside ours`,
          );
        }
      });

      test('a nameless cookie that spells our name (as a browser sends it) is a duplicate → 401', async () => {
        // A nameless cookie set to "__Host-x=evil" is sent by a browser as just "__Host-x=evil": the known
        // way around the prefix. Next to the real one it is a duplicate, refused rather than guessed.
        const response = await assertUnauthenticated(
          `${hostName}=forged; ${hostName}=${hostValue}`,
          SECURE_HOST,
        );
        assert.deepEqual(response.setCookies, [
          `${hostName}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`,
        ]);
      });

      test('nameless and empty pieces are never ours, and do not hide ours', async () => {
        for (const cookie of [`=${value}`, '; ;', '=', ';', ' ', `=${name}=${value}`, `${value}`]) {
          const response = await assertUnauthenticated(cookie);
          assert.deepEqual(response.setCookies, [], JSON.stringify(cookie));
        }
        for (const cookie of [
          `;;; ${name}=${value} ;;`,
          `=; ${name}=${value}`,
          ` ${name} = ${value} `,
          `${name}="${value}"`,
        ]) {
          await assertAuthenticated(cookie);
        }
      });
    });

    test('__proto__, constructor and toString as cookie names: no crash, no sign-in, no pollution', async () => {
      const hostile = [
        '__proto__=x',
        'constructor=x',
        'toString=x',
        'hasOwnProperty=x',
        'valueOf=x',
        '__proto__[polluted]=yes',
        '__proto__.polluted=yes',
        'constructor[prototype][polluted]=yes',
        'constructor.prototype.polluted=yes',
        `__proto__=${value}`,
        `toString=${value}`,
        `constructor=${value}`,
        '__proto__=x; __proto__=y',
        'keycard_csrf=x; __proto__=y',
      ];
      for (const cookie of hostile) {
        await assertUnauthenticated(cookie);
        const token = await request(server.url, 'GET', '/auth/csrf', { headers: { cookie } });
        assert.equal(token.status, 200, `${cookie}: ${token.text}`);
        assertWellFormedSetCookies(token, cookie);
        const page = await request(server.url, 'GET', '/login', { headers: { cookie } });
        assert.equal(page.status, 200, cookie);
        const login = await request(server.url, 'POST', '/auth/login', {
          json: { username: 'alice', password: PASSWORDS.alice },
          headers: { cookie, 'sec-fetch-site': 'same-origin' },
        });
        assert.equal(login.status, 403, `${cookie}: ${login.text}`);
        assert.equal(login.json.error.code, 'csrf_rejected');
        assert.deepEqual(credentialSetCookies(login), []);
        await assertAuthenticated(`${cookie}; ${name}=${value}`, {}, `${cookie} beside ours`);
      }
      // The same names as form fields of a login: just unknown fields.
      const form = await request(server.url, 'POST', '/auth/login', {
        body: '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&toString=x&username=alice&password=wrong-password-0',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      // A wrong password, sent back to the sign-in page (POST-redirect-GET).
      assert.equal(form.status, 303, form.text.slice(0, 200));
      assert.equal(form.headers.location, '/login?error=invalid_credentials&username=alice');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
      assert.equal(typeof {}.toString, 'function');
      assert.equal((await request(server.url, 'GET', '/healthz')).status, 200);
    });

    describe('serializer injection', () => {
      // A server of its own, trusting X-Forwarded-For so that each failed login comes from its own
      // address: otherwise the 20-failures-per-address limit would answer 429 in place of the check.
      let own: StrategyServer;
      let admin: Client;
      let address = 0;
      const from = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });
      before(async () => {
        own = await startStrategyServer(strategy, { flags: { 'trust-proxy': 'true' } });
        await own.keycard.users.create({ username: 'alice', password: PASSWORDS.alice, role: 'admin' });
        admin = new Client(own.url);
        const login = await admin.post('/auth/login', {
          json: { username: 'alice', password: PASSWORDS.alice },
        });
        assert.equal(login.status, 200, login.text);
      });
      after(async () => {
        await own?.close();
      });

      const INJECTIONS = [
        'alice;Path=/evil',
        'alice; Domain=evil.example',
        'alice\r\nSet-Cookie: evil=1; Domain=evil.example',
        'alice\nSet-Cookie: evil=1',
        'alice"; Max-Age=99999999; Secure=',
        'alice,evil=1',
        'keycard_session=forged; Path=/',
        'Path=/',
        '=alice',
        'alice\u2028x',
        'alice\u0000',
        '<script>alert(1)</script>;Path=/',
      ];

      test('usernames with ;, CR/LF, Path= and Domain= never reach a Set-Cookie', async () => {
        for (const username of INJECTIONS) {
          const label = JSON.stringify(username);
          const json = await request(own.url, 'POST', '/auth/login', {
            json: { username, password: PASSWORDS.alice },
            headers: from(),
          });
          assert.equal(json.status, 401, `${label}: ${json.text}`);
          assert.equal(json.json.error.code, 'invalid_credentials');
          assert.deepEqual(json.setCookies, [], label);
          const form = await request(own.url, 'POST', '/auth/login', {
            form: { username, password: PASSWORDS.alice },
            headers: from(),
          });
          // POST-redirect-GET: the username goes into the Location header percent-encoded, never raw.
          assert.equal(form.status, 303, label);
          const location = String(form.headers.location);
          assert.match(location, /^\/login\?error=invalid_credentials&username=[A-Za-z0-9%._*+-]*$/, label);
          assert.equal(new URL(location, own.url).searchParams.get('username'), username, label);
          assertWellFormedSetCookies(form, label);
          assert.deepEqual(credentialSetCookies(form), [], label);
          const page = await request(own.url, 'GET', location, { headers: { accept: 'text/html' } });
          assert.equal(page.status, 200, label);
          assert.equal(page.text.includes('<script>alert'), false, `${label}: escaped in the page`);
          // Such a user cannot even be created (docs/users.md: letters, digits and . _ - @ + only).
          const create = await admin.post('/auth/admin/users', {
            json: { username, password: 'velvet-Moose-4412-harbor' },
          });
          assert.equal(create.status, 400, `${label}: ${create.text}`);
          assert.equal(create.json.error.field, 'username');
        }
      });

      test('the most cookie-like username allowed signs in with well-formed cookies only', async () => {
        const username = 'path.domain@evil.example+secure';
        const password = 'harbor-Pelican-2291-ember';
        const create = await admin.post('/auth/admin/users', { json: { username, password } });
        assert.equal(create.status, 201, create.text);
        for (const headers of [{}, SECURE_HOST]) {
          const login = await request(own.url, 'POST', '/auth/login', {
            json: { username, password },
            headers: { ...headers, 'user-agent': 'x; Domain=evil.example; Path=/evil\tMax-Age=1' },
          });
          assert.equal(login.status, 200, login.text);
          assertWellFormedSetCookies(login, JSON.stringify(headers));
          assert.ok(credentialSetCookies(login).length > 0);
          const cookie = login.setCookies.map((header) => header.split(';')[0]).join('; ');
          const verify = await request(own.url, 'GET', '/auth/verify', {
            headers: { ...headers, cookie },
          });
          assert.equal(verify.status, 200);
          assert.equal(verify.headers['x-keycard-username'], encodeURIComponent(username));
        }
      });

      test('paths, queries and Host headers with ;, CR/LF, Path= and Domain= alter no attribute', async () => {
        const paths = [
          '/auth/csrf?x=;Path=/evil',
          '/auth/csrf?x=%0d%0aSet-Cookie:%20evil=1;%20Domain=evil.example',
          '/login?next=%0d%0aSet-Cookie:%20evil=1%3BDomain=evil.example',
          '/login;Path=/evil',
          '/auth/csrf%3BDomain=evil.example',
          '/auth/csrf%0d%0aSet-Cookie:%20evil=1',
          '/auth/..%2f..%2fcsrf;Domain=evil.example',
        ];
        for (const path of paths) {
          for (const headers of [{}, SECURE_HOST]) {
            const response = await request(own.url, 'GET', path, { headers });
            assert.ok([200, 404].includes(response.status), `${path}: ${response.status}`);
            assertWellFormedSetCookies(response, path);
          }
        }
        for (const host of [
          'auth.example.com;Domain=evil.example',
          'auth.example.com; Path=/evil',
          'auth.example.com\tDomain=evil',
        ]) {
          const response = await request(own.url, 'GET', '/auth/csrf', { headers: { host } });
          assert.equal(response.status, 200, host);
          assertWellFormedSetCookies(response, host);
          assert.equal(response.setCookies.length, 1);
          assert.match(
            response.setCookies[0] as string,
            /^__Host-keycard_csrf=/,
            'not localhost, so __Host-',
          );
        }
        // What node:http refuses to send: a bare CR, an obs-fold, raw CR/LF in the request line.
        for (const raw of [
          'GET /auth/csrf HTTP/1.1\r\nHost: localhost\r\nX-A: b\rSet-Cookie: evil=1\r\nConnection: close\r\n\r\n',
          'GET /auth/csrf HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n Set-Cookie: evil=1\r\nConnection: close\r\n\r\n',
          'GET /auth/csrf?a=b\rSet-Cookie:evil=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
        ]) {
          const response = await rawHTTP(own.url, raw);
          assert.equal(response.status, 400, JSON.stringify(raw));
          assert.deepEqual(response.setCookies, []);
        }
        assert.equal((await request(own.url, 'GET', '/healthz')).status, 200);
      });
    });

    describe('oversized cookies and headers', () => {
      async function assertStillServing(label: string, logins: string[]): Promise<void> {
        assert.equal((await request(server.url, 'GET', '/healthz')).status, 200, `${label}: server up`);
        await assertAuthenticated(`${name}=${value}`, {}, `${label}: the next normal request`);
        assert.deepEqual(await aliceLogins(), logins, `${label}: no login ended or created`);
      }

      test('header section over 16 KiB (a huge cookie, a huge URL) → 431 header_too_large', async () => {
        const logins = await aliceLogins();
        for (const [label, path, cookie] of [
          ['huge cookie', '/auth/me', `${name}=${value}; pad=${'p'.repeat(17_000)}`],
          ['huge credential', '/auth/me', `${name}=${'A'.repeat(17_000)}`],
          ['huge URL', `/auth/me?q=${'a'.repeat(17_000)}`, `${name}=${value}`],
        ] as const) {
          const response = await request(server.url, 'GET', path, { headers: { cookie } });
          assert.equal(response.status, 431, label);
          assert.equal(response.json.error.code, 'header_too_large', label);
          assert.deepEqual(response.setCookies, [], label);
          await assertStillServing(label, logins);
        }
        const logout = await request(server.url, 'POST', '/auth/logout', {
          headers: { cookie: `${name}=${value}`, 'x-pad': 'p'.repeat(17_000) },
        });
        assert.equal(logout.status, 431);
        await assertStillServing('huge logout', logins);
      });

      test('a Cookie header over 8 KiB or with over 50 cookies → 400 invalid_request, even with ours in it', async () => {
        const logins = await aliceLogins();
        const cases: [string, string, RegExp][] = [
          [
            '8193 bytes',
            `pad=${'p'.repeat(8193 - `pad=; ${name}=${value}`.length)}; ${name}=${value}`,
            /8192 bytes/,
          ],
          [
            '51 cookies',
            [...Array.from({ length: 50 }, (_, i) => `c${i}=v`), `${name}=${value}`].join('; '),
            /50 cookies/,
          ],
          [
            '51 cookies, ours first',
            [`${name}=${value}`, ...Array.from({ length: 50 }, (_, i) => `c${i}=v`)].join('; '),
            /50 cookies/,
          ],
        ];
        for (const [label, cookie, message] of cases) {
          for (const method of ['GET', 'POST'] as const) {
            const path = method === 'GET' ? '/auth/me' : '/auth/logout-all';
            const response = await request(server.url, method, path, { headers: { cookie } });
            assert.equal(response.status, 400, `${label} ${method}: ${response.text}`);
            assert.equal(response.json.error.code, 'invalid_request', label);
            assert.match(response.json.error.message, message, label);
            assert.deepEqual(response.setCookies, [], label);
          }
          await assertStillServing(label, logins);
        }
      });

      test('a 4000-character credential → 401 and cleared; a body over 16 KiB → 413; a long id → 414', async () => {
        const logins = await aliceLogins();
        const long = await assertUnauthenticated(`${name}=${'A'.repeat(4000)}`);
        assert.deepEqual(long.setCookies, [`${name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`]);
        await assertStillServing('long credential', logins);

        const body = await request(server.url, 'POST', '/auth/logout', {
          json: { pad: 'p'.repeat(17_000) },
          headers: { cookie: `${name}=${value}` },
        });
        assert.equal(body.status, 413, body.text);
        assert.equal(body.json.error.code, 'payload_too_large');
        assert.deepEqual(body.setCookies, []);
        await assertStillServing('large body', logins);

        const id = await request(server.url, 'DELETE', `/auth/sessions/${'b'.repeat(129)}`, {
          headers: { cookie: `${name}=${value}` },
        });
        assert.equal(id.status, 414);
        assert.equal(id.json.error.code, 'uri_too_long');
        await assertStillServing('long id', logins);
      });
    });
  });
}
