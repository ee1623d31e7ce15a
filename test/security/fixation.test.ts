/**
 * Abuse suite: session fixation against a real `keycard serve`, in every cookie strategy (and on Redis).
 * An attacker who can put a value in the victim's cookie jar before login (cookie tossing from a sibling
 * subdomain, a shared computer) must gain nothing: the login hands out fresh credentials, never the planted
 * ones, and the planted value does not authenticate afterwards — whether it was made up or was the
 * attacker's own genuine login.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, type Response, request } from '../helpers/http.js';
import { redisSkipReason } from '../helpers/services.js';
import {
  COOKIE_STRATEGIES,
  credentialCookie,
  credentialSetCookies,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StoreKind,
  type Strategy,
  type StrategyServer,
  startStrategyServer,
} from './helpers.js';

const PASSWORDS = { alice: 'juniper-Walrus-2284-canyon', mallory: 'pewter-Jackal-7730-summit' } as const;

/**
 * What a credential of an earlier login of the same browser does once another login replaced it: the
 * session and hybrid strategies refuse it at once; a jwt access token is verified without the store and
 * stays valid until it expires — the documented trade-off of that strategy (DESIGN.md, "jwt") — while its
 * login record and refresh token are gone.
 */
const REPLACED_ACCESS_STATUS: Record<Strategy, number> = { session: 401, jwt: 200, hybrid: 401 };

const VARIANTS: { strategy: Strategy; store: StoreKind }[] = [
  ...COOKIE_STRATEGIES.map((strategy) => ({ strategy, store: 'sqlite' as const })),
  { strategy: 'session', store: 'redis' },
  { strategy: 'hybrid', store: 'redis' },
];

/** The cookies a response sets, by name (deletions included, with an empty value). */
function cookiesSet(response: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const header of response.setCookies) {
    const pair = header.split(';')[0] ?? '';
    cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  }
  return cookies;
}

for (const { strategy, store } of VARIANTS) {
  const skip = store === 'redis' ? await redisSkipReason() : undefined;

  describe(`fixation: ${strategy} strategy on ${store}`, { skip }, () => {
    let server: StrategyServer;
    const ids: Record<string, string> = {};
    const credential = credentialCookie(strategy);
    const refresh = 'keycard_refresh';

    before(async () => {
      server = await startStrategyServer(strategy, { store });
      for (const [username, password] of Object.entries(PASSWORDS)) {
        ids[username] = (await server.keycard.users.create({ username, password })).id;
      }
    });
    after(async () => {
      await server?.close();
    });

    const loginsOf = async (name: keyof typeof PASSWORDS) =>
      (await server.keycard.logins.listForUser(ids[name] as string)).map((login) => login.id);

    /**
     * Ends a user's logins one by one between tests. Not destroyAllForUser: in the token strategies that
     * records a user-wide cut-off, which (by design, in whole seconds of `iat`) also refuses a token issued
     * in the same second — the next test's login.
     */
    async function endLogins(name: keyof typeof PASSWORDS): Promise<void> {
      for (const id of await loginsOf(name))
        await server.keycard.logins.destroyForUser(ids[name] as string, id);
    }

    /** GET /auth/me with exactly this cookie. */
    const meWith = (name: string, value: string) =>
      request(server.url, 'GET', '/auth/me', { headers: { cookie: `${name}=${value}` } });

    /** The victim signs in from their browser as alice, with a token from GET /auth/csrf (as the page does). */
    async function victimSignIn(victim: Client, planted: Map<string, string>): Promise<Response> {
      for (const [name, value] of planted) victim.cookies.set(name, value);
      const token = await fetchCSRFToken(victim);
      // Re-planted after the token request, in case the server cleared it there: an attacker who can toss a
      // cookie once can toss it again, so the login itself must not adopt it either.
      for (const [name, value] of planted) victim.cookies.set(name, value);
      const login = await victim.post('/auth/login', {
        json: { username: 'alice', password: PASSWORDS.alice },
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
      });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.json.user.username, 'alice');
      return login;
    }

    test('a value the attacker picked before login is never the one after it, and never authenticates', async () => {
      const picked =
        strategy === 'session'
          ? randomBytes(32).toString('base64url') // exactly the shape of a real session token
          : `eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9.${randomBytes(64).toString('base64url')}`;
      const planted = new Map([[credential, picked]]);
      if (strategy !== 'session') planted.set(refresh, randomBytes(32).toString('base64url'));

      const victim = new Client(server.url);
      const login = await victimSignIn(victim, planted);

      const issued = cookiesSet(login);
      for (const [name, value] of planted) {
        assert.ok(issued.get(name), `the login sets ${name}`);
        assert.notEqual(issued.get(name), value, `${name} is fresh, not the planted value`);
      }
      if (strategy === 'session') {
        const pickedId = createHash('sha256').update(picked).digest('base64url');
        assert.notEqual(login.json.session.id, pickedId, 'the session is not stored under the planted token');
        assert.equal(await server.store.getLogin(pickedId), null);
      }
      assert.deepEqual(await loginsOf('alice'), [login.json.session.id]);

      const replay = await meWith(credential, picked);
      assert.equal(replay.status, 401, replay.text);
      assert.equal(replay.json.error.code, 'unauthenticated');
      if (strategy !== 'session') {
        const spent = await request(server.url, 'POST', '/auth/refresh', {
          headers: { cookie: `${refresh}=${planted.get(refresh)}` },
        });
        assert.equal(spent.status, 401, spent.text);
        assert.equal(spent.json.error.code, 'token_invalid');
        assert.deepEqual(credentialSetCookies(spent), []);
      }
      const me = await victim.get('/auth/me');
      assert.equal(me.status, 200);
      assert.equal(me.json.user.username, 'alice');
      await endLogins('alice');
    });

    test("the attacker's own login planted in the victim's browser ends when the victim signs in", async () => {
      const attacker = new Client(server.url);
      const attackerLogin = await attacker.post('/auth/login', {
        json: { username: 'mallory', password: PASSWORDS.mallory },
      });
      assert.equal(attackerLogin.status, 200, attackerLogin.text);
      const planted = new Map(
        [...attacker.cookies].filter(([name]) => name === credential || name === refresh),
      );
      assert.equal(planted.size, strategy === 'session' ? 1 : 2);

      const victim = new Client(server.url);
      const login = await victimSignIn(victim, planted);

      const issued = cookiesSet(login);
      for (const [name, value] of planted) assert.notEqual(issued.get(name), value, `${name} is fresh`);
      assert.deepEqual(await loginsOf('mallory'), [], 'the planted login is ended, not carried over');
      assert.deepEqual(await loginsOf('alice'), [login.json.session.id]);

      const replay = await meWith(credential, planted.get(credential) as string);
      assert.equal(replay.status, REPLACED_ACCESS_STATUS[strategy], replay.text);
      if (replay.status === 200) assert.equal(replay.json.user.username, 'mallory', 'never the victim');
      if (strategy !== 'session') {
        const spent = await request(server.url, 'POST', '/auth/refresh', {
          headers: { cookie: `${refresh}=${planted.get(refresh)}` },
        });
        assert.equal(spent.status, 401, spent.text);
        assert.deepEqual(credentialSetCookies(spent), []);
      }
      const me = await victim.get('/auth/me');
      assert.equal(me.json.user.username, 'alice');
      assert.equal(me.json.session.id, login.json.session.id);
      await endLogins('alice');
    });

    test('signing in again in the same browser replaces the login and its credential', async () => {
      const browser = new Client(server.url);
      const first = await victimSignIn(browser, new Map());
      const before = cookiesSet(first);
      const second = await victimSignIn(browser, new Map());
      const afterwards = cookiesSet(second);
      assert.notEqual(second.json.session.id, first.json.session.id);
      assert.notEqual(afterwards.get(credential), before.get(credential));
      assert.deepEqual(await loginsOf('alice'), [second.json.session.id]);
      const replay = await meWith(credential, before.get(credential) as string);
      assert.equal(replay.status, REPLACED_ACCESS_STATUS[strategy], replay.text);
      if (strategy !== 'session') {
        const spent = await request(server.url, 'POST', '/auth/refresh', {
          headers: { cookie: `${refresh}=${before.get(refresh)}` },
        });
        assert.equal(spent.status, 401, spent.text);
      }
      assert.equal((await browser.get('/auth/me')).json.session.id, second.json.session.id);
      await endLogins('alice');
    });

    test('after logout the old credential is dead, and the next login is fresh again', async () => {
      const browser = new Client(server.url);
      const login = await victimSignIn(browser, new Map());
      const old = cookiesSet(login).get(credential) as string;
      const token = login.json.csrf_token as string;
      // The login's own csrf_token is used where it works (docs/security.md); a fresh one otherwise.
      const csrf = strategy === 'session' ? token : await fetchCSRFToken(browser);
      const logout = await browser.post('/auth/logout', {
        json: {},
        headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
      });
      assert.equal(logout.status, 200, logout.text);
      assert.deepEqual(await loginsOf('alice'), []);
      const replay = await meWith(credential, old);
      assert.equal(replay.status, REPLACED_ACCESS_STATUS[strategy], replay.text);
      const again = await victimSignIn(browser, new Map([[credential, old]]));
      assert.notEqual(cookiesSet(again).get(credential), old);
      await endLogins('alice');
    });
  });
}
