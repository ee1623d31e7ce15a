/**
 * "Keep me signed in" (issue 17): a login's cookies are persistent (Max-Age within the configured
 * lifetimes) unless the sign-in said `remember: false` — or came from the sign-in form with its box left
 * unticked — and then they are browser-session cookies (no Max-Age, no Expires), which they stay whenever
 * they are written again: a session's sliding expiry, a token refresh. On keycard serve, for every
 * strategy with cookies, on every store. Header clients are unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client, parseSetCookie, type Response } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  COOKIE_STRATEGIES,
  credentialSetCookies,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StrategyServer,
  startStrategyServer,
  storeSkipReasons,
} from '../security/helpers.js';

const PASSWORD = 'correct horse battery staple';
const SKIPS = await storeSkipReasons();

/** Each credential cookie the answer sets, by name, with its lifetime attributes (or null: a session cookie). */
function lifetimes(response: Response): Map<string, string | null> {
  const result = new Map<string, string | null>();
  for (const header of credentialSetCookies(response)) {
    const { name, attributes } = parseSetCookie(header);
    const maxAge = attributes.get('max-age');
    const expires = attributes.get('expires');
    result.set(name, maxAge !== undefined ? `Max-Age=${maxAge}` : expires !== undefined ? 'Expires' : null);
  }
  return result;
}

function assertSessionCookies(response: Response, expected: number, what: string): void {
  const found = lifetimes(response);
  assert.equal(found.size, expected, `${what}: ${response.setCookies.join(' | ')}`);
  for (const [name, lifetime] of found) assert.equal(lifetime, null, `${what}: ${name} has ${lifetime}`);
}

function assertPersistentCookies(response: Response, expected: number, what: string): void {
  const found = lifetimes(response);
  assert.equal(found.size, expected, `${what}: ${response.setCookies.join(' | ')}`);
  for (const [name, lifetime] of found) {
    assert.match(String(lifetime), /^Max-Age=[1-9]\d*$/, `${what}: ${name} has ${lifetime}`);
  }
}

for (const storeKind of ['memory', 'sqlite', 'redis', 'postgres'] as const) {
  for (const strategy of COOKIE_STRATEGIES) {
    describe(`remember me: ${strategy} on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
      let server: StrategyServer;
      const clock = new ManualClock(Date.now());
      let n = 0;
      // The session strategy sets one credential cookie; jwt and hybrid the access and refresh cookies.
      const count = strategy === 'session' ? 1 : 2;

      const newUser = async () => {
        const username = `user${++n}`;
        await server.keycard.users.create({ username, password: PASSWORD });
        return username;
      };
      /** A browser page's JSON sign-in with `extra` in the body. */
      const signIn = async (client: Client, username: string, extra: Record<string, unknown>) => {
        const token = await fetchCSRFToken(client, SAME_ORIGIN);
        return client.post('/auth/login', {
          json: { username, password: PASSWORD, ...extra },
          headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
        });
      };
      /** What writes the login's cookies again: a refresh (jwt, hybrid), or a request once a touch is due. */
      const rewrite = async (client: Client): Promise<Response> => {
        if (strategy === 'session') {
          clock.advanceSeconds(3 * 3600); // past a tenth of the 24 h idle timeout: the touch is due
          return client.get('/auth/me');
        }
        const token = await fetchCSRFToken(client, SAME_ORIGIN);
        return client.post('/auth/refresh', { headers: { ...SAME_ORIGIN, 'x-csrf-token': token } });
      };

      before(async () => {
        server = await startStrategyServer(strategy, { store: storeKind, clock });
      });
      after(async () => {
        await server?.close();
      });

      test('a JSON sign-in without remember keeps today’s persistent cookies, also when written again', async () => {
        const client = new Client(server.url);
        const login = await signIn(client, await newUser(), {});
        assert.equal(login.status, 200, login.text);
        assertPersistentCookies(login, count, 'login');
        if (strategy !== 'session') assertPersistentCookies(await rewrite(client), count, 'refresh');
      });

      test('remember: false gives browser-session cookies, and they stay so when written again', async () => {
        const client = new Client(server.url);
        const username = await newUser();
        const login = await signIn(client, username, { remember: false });
        assert.equal(login.status, 200, login.text);
        assertSessionCookies(login, count, 'login');
        const id = login.json.session.id as string;
        const before = (await server.keycard.store.getLogin(id))?.lastActiveAt;
        for (let i = 0; i < 2; i++) {
          const again = await rewrite(client);
          assert.equal(again.status, 200, again.text);
          if (strategy === 'session') {
            // guards: sliding expiry — the touch is written, and no cookie with a lifetime is set.
            assert.deepEqual([...lifetimes(again).values()].filter(Boolean), []);
          } else {
            assertSessionCookies(again, count, `refresh ${i + 1}`);
          }
        }
        const record = await server.keycard.store.getLogin(id);
        if (strategy === 'session') {
          assert.ok(record && before !== undefined && record.lastActiveAt > before, 'the login was touched');
        } else {
          assert.equal(record?.refresh?.generation, 2, 'the refresh token was rotated twice');
        }
        assert.equal((await client.get('/auth/me')).status, 200, 'still signed in');
        // The choice is the login's, not the user's: another login of the same user may be remembered.
        const other = await signIn(new Client(server.url), username, { remember: true });
        assertPersistentCookies(other, count, 'another login, remembered');
      });

      test('remember: true gives persistent cookies, within the configured lifetimes', async () => {
        const client = new Client(server.url);
        const login = await signIn(client, await newUser(), { remember: true });
        assert.equal(login.status, 200, login.text);
        assertPersistentCookies(login, count, 'login');
        for (const [name, lifetime] of lifetimes(login)) {
          // session: the 7 d absolute timeout; the refresh cookie: the 7 d refresh token; access: 15 min.
          assert.ok(Number(String(lifetime).slice(8)) <= 7 * 86_400, `${name}: ${lifetime}`);
        }
        if (strategy !== 'session') assertPersistentCookies(await rewrite(client), count, 'refresh');
      });

      test('the sign-in form: an unticked box means browser-session cookies, a ticked one persistent', async () => {
        for (const [fields, persistent] of [
          [{}, false],
          [{ remember: 'true' }, true],
          [{ remember: 'on' }, true],
        ] as const) {
          const client = new Client(server.url);
          const token = await fetchCSRFToken(client, SAME_ORIGIN);
          const login = await client.post('/auth/login', {
            form: { username: await newUser(), password: PASSWORD, _csrf: token, ...fields },
            headers: SAME_ORIGIN,
          });
          assert.equal(login.status, 303, login.text);
          assert.equal(login.headers.location, '/account');
          if (persistent) assertPersistentCookies(login, count, JSON.stringify(fields));
          else assertSessionCookies(login, count, JSON.stringify(fields));
        }
      });

      test('a remember that is no boolean is refused before any password is checked', async () => {
        const username = await newUser();
        for (const remember of ['maybe', 1, null, ['true'], { yes: true }]) {
          const response = await signIn(new Client(server.url), username, { remember });
          assert.equal(response.status, 400, JSON.stringify(remember));
          assert.equal(response.json.error.code, 'invalid_request');
          assert.equal(response.json.error.field, 'remember');
          assert.equal(credentialSetCookies(response).length, 0);
        }
      });
    });
  }
}

describe('remember me: header transport is unaffected', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ storeURL: 'memory:', flags: { preset: 'api' } });
    await server.keycard.users.create({ username: 'mobile', password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  test('remember: false still returns tokens and sets no cookie; the login carries no marker', async () => {
    const client = new Client(server.url);
    const login = await client.post('/auth/login', {
      json: { username: 'mobile', password: PASSWORD, remember: false },
    });
    assert.equal(login.status, 200, login.text);
    assert.equal(typeof login.json.access_token, 'string');
    assert.ok(login.json.refresh_expires_in > 0);
    assert.equal(credentialSetCookies(login).length, 0);
    const record = await server.keycard.store.getLogin(login.json.session.id);
    // No browser-session marker: only how it signed in (docs/mfa.md).
    assert.deepEqual(Object.keys(record?.data ?? {}), ['keycard_auth']);
    const refreshed = await client.post('/auth/refresh', {
      json: { refresh_token: login.json.refresh_token },
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.ok(refreshed.json.refresh_expires_in > 0);
  });
});
