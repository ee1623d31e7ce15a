/**
 * Abuse suite: cross-site request forgery against a real `keycard serve`, in every strategy whose browser
 * credential is a cookie (session; jwt and hybrid with the cookie transport), and once on Redis.
 *
 * Each forged request is sent with the victim's valid cookies against each action worth forging (log out,
 * log out everywhere, revoke a device, block a user, create a user) and must get the documented 403 —
 * `cross_site_request` from the Origin / Sec-Fetch-Site check, `csrf_rejected` from the token check — with
 * no Set-Cookie at all, and the action must not have happened (checked in the store). A control test then
 * performs every action with the right token, so each "did not happen" check is shown able to fail.
 * Login CSRF: a browser login needs the token bound to its pre-login cookie. The server has no
 * change-password route, so that action is not here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, type Response, request } from '../helpers/http.js';
import { redisSkipReason } from '../helpers/services.js';
import {
  COOKIE_STRATEGIES,
  credentialSetCookies,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StoreKind,
  type Strategy,
  type StrategyServer,
  startStrategyServer,
} from './helpers.js';

const PASSWORDS = {
  alice: 'lantern-Orchid-4471-meadow',
  bob: 'granite-Heron-9023-willow',
  carol: 'copper-Falcon-5518-thistle',
  mallory: 'saffron-Badger-3390-harbor',
} as const;
type Name = keyof typeof PASSWORDS;

const MESSAGES: Record<string, RegExp> = {
  cross_site_request: /cross-site (request|login) refused/,
  csrf_rejected: /CSRF token/,
};

/** Asserts a refusal with this status and code, in JSON, or in the HTML page a form post gets. */
function assertRefused(response: Response, status: number, code: string, label: string): void {
  assert.equal(response.status, status, `${label}: ${response.status} ${response.text.slice(0, 200)}`);
  if (response.json !== undefined) {
    assert.equal(response.json.error?.code, code, `${label}: ${response.text.slice(0, 200)}`);
  } else {
    assert.match(String(response.headers['content-type']), /^text\/html/, label);
    assert.match(response.text, MESSAGES[code] as RegExp, `${label}: the page names the refusal`);
  }
  // Nothing set, and nothing cleared either: the victim's browser keeps its login as it was.
  assert.deepEqual(response.setCookies, [], `${label}: no Set-Cookie`);
}

interface Variant {
  strategy: Strategy;
  store: StoreKind;
}

const VARIANTS: Variant[] = [
  ...COOKIE_STRATEGIES.map((strategy) => ({ strategy, store: 'sqlite' as const })),
  { strategy: 'session', store: 'redis' },
  { strategy: 'hybrid', store: 'redis' },
];

for (const { strategy, store } of VARIANTS) {
  const skip = store === 'redis' ? await redisSkipReason() : undefined;

  describe(`csrf: ${strategy} strategy on ${store}`, { skip }, () => {
    let server: StrategyServer;
    const ids = {} as Record<Name, string>;
    /** The victim's browser, signed in as alice (an admin). */
    let laptop: Client;
    let laptopLogin: string;
    /** Alice's second device; revoking it is one of the forged actions. */
    let phoneLogin: string;
    /** A token the laptop held before it signed in (bound to its pre-login cookie). */
    let preLoginToken: string;
    /** A valid token of another login (bob's). */
    let bobToken: string;

    /** Signs in from a script (no Origin, no Sec-Fetch-Site: no token needed, as documented). */
    async function scriptSignIn(name: Name, client = new Client(server.url)): Promise<string> {
      const response = await client.post('/auth/login', {
        json: { username: name, password: PASSWORDS[name] },
      });
      assert.equal(response.status, 200, response.text);
      return response.json.session.id as string;
    }

    before(async () => {
      server = await startStrategyServer(strategy, { store });
      for (const name of Object.keys(PASSWORDS) as Name[]) {
        const role = name === 'alice' ? 'admin' : 'user';
        ids[name] = (
          await server.keycard.users.create({ username: name, password: PASSWORDS[name], role })
        ).id;
      }
      laptop = new Client(server.url);
      preLoginToken = await fetchCSRFToken(laptop);
      const login = await laptop.post('/auth/login', {
        json: { username: 'alice', password: PASSWORDS.alice },
        headers: { ...SAME_ORIGIN, 'x-csrf-token': preLoginToken },
      });
      assert.equal(login.status, 200, login.text);
      laptopLogin = login.json.session.id;
      phoneLogin = await scriptSignIn('alice');
      const bob = new Client(server.url);
      await scriptSignIn('bob', bob);
      bobToken = await fetchCSRFToken(bob);
    });
    after(async () => {
      await server?.close();
    });

    const aliceLogins = async () =>
      (await server.keycard.logins.listForUser(ids.alice)).map((session) => session.id).sort();

    interface Action {
      name: string;
      method: 'POST' | 'DELETE';
      path: () => string;
      /** The body a forging page would send (a form where the route takes one), or none. */
      form?: () => Record<string, string>;
      json?: () => Record<string, unknown>;
      /** True once the action has taken effect. */
      happened: () => Promise<boolean>;
    }

    const ACTIONS: Action[] = [
      {
        name: 'log out',
        method: 'POST',
        path: () => '/auth/logout',
        form: () => ({}),
        happened: async () => !(await aliceLogins()).includes(laptopLogin),
      },
      {
        name: 'log out everywhere',
        method: 'POST',
        path: () => '/auth/logout-all',
        form: () => ({ keepCurrent: 'false' }),
        happened: async () => (await aliceLogins()).length < 2,
      },
      {
        name: 'revoke a device (DELETE)',
        method: 'DELETE',
        path: () => `/auth/sessions/${phoneLogin}`,
        happened: async () => !(await aliceLogins()).includes(phoneLogin),
      },
      {
        name: 'revoke a device (form)',
        method: 'POST',
        path: () => `/auth/sessions/${phoneLogin}/revoke`,
        form: () => ({}),
        happened: async () => !(await aliceLogins()).includes(phoneLogin),
      },
      {
        name: 'admin: block a user',
        method: 'POST',
        path: () => `/auth/admin/users/${ids.carol}/block`,
        form: () => ({}),
        happened: async () => (await server.keycard.users.get(ids.carol))?.blocked === true,
      },
      {
        name: 'admin: create a user',
        method: 'POST',
        path: () => '/auth/admin/users',
        json: () => ({ username: 'eve', password: 'obsidian-Marten-6612-quarry', role: 'admin' }),
        happened: async () => (await server.keycard.users.findByUsername('eve')) !== null,
      },
    ];

    interface Attack {
      name: string;
      headers: () => Record<string, string>;
      token?: () => string;
      status: number;
      code: 'cross_site_request' | 'csrf_rejected';
    }

    const EVIL = 'https://evil.example';
    const ATTACKS: Attack[] = [
      {
        name: 'Origin of another site',
        headers: () => ({ origin: EVIL }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Sec-Fetch-Site: cross-site',
        headers: () => ({ origin: EVIL, 'sec-fetch-site': 'cross-site' }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Sec-Fetch-Site: cross-site without Origin',
        headers: () => ({ 'sec-fetch-site': 'cross-site' }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Sec-Fetch-Site: same-site (a sibling subdomain)',
        headers: () => ({ origin: 'http://sibling.127.0.0.1.example', 'sec-fetch-site': 'same-site' }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Origin: null (sandboxed frame, data: URL)',
        headers: () => ({ origin: 'null' }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Origin of the same host on another port',
        headers: () => ({ origin: `http://127.0.0.1:${Number(new URL(server.url).port) + 1}` }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Origin of the same host over another scheme',
        headers: () => ({ origin: server.url.replace('http:', 'https:') }),
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'cross-site even with a valid (leaked) token',
        headers: () => ({ origin: EVIL, 'sec-fetch-site': 'cross-site' }),
        token: () => 'laptop',
        status: 403,
        code: 'cross_site_request',
      },
      {
        name: 'Sec-Fetch-Site: same-origin and no token',
        headers: () => ({ ...SAME_ORIGIN }),
        status: 403,
        code: 'csrf_rejected',
      },
      {
        name: 'own Origin and no token',
        headers: () => ({ origin: server.url }),
        status: 403,
        code: 'csrf_rejected',
      },
      {
        name: 'Sec-Fetch-Site: none and no token',
        headers: () => ({ 'sec-fetch-site': 'none' }),
        status: 403,
        code: 'csrf_rejected',
      },
      {
        name: 'same-origin with the token of another login',
        headers: () => ({ ...SAME_ORIGIN }),
        token: () => bobToken,
        status: 403,
        code: 'csrf_rejected',
      },
      {
        name: 'same-origin with the token held before sign-in',
        headers: () => ({ ...SAME_ORIGIN }),
        token: () => preLoginToken,
        status: 403,
        code: 'csrf_rejected',
      },
      {
        name: 'same-origin with a malformed token',
        headers: () => ({ ...SAME_ORIGIN }),
        token: () => 'x'.repeat(68),
        status: 403,
        code: 'csrf_rejected',
      },
      {
        name: 'same-origin with a token whose MAC was altered',
        headers: () => ({ ...SAME_ORIGIN }),
        token: () => 'laptop-altered',
        status: 403,
        code: 'csrf_rejected',
      },
    ];

    async function send(
      action: Action,
      headers: Record<string, string>,
      token: string | undefined,
      body: 'form' | 'json',
    ): Promise<Response> {
      const all = { ...headers, ...(token === undefined ? {} : { 'x-csrf-token': token }) };
      if (action.method === 'DELETE') return laptop.delete(action.path(), { headers: all });
      if (body === 'form' && action.form)
        return laptop.post(action.path(), { form: action.form(), headers: all });
      return laptop.post(action.path(), { json: action.json?.() ?? action.form?.() ?? {}, headers: all });
    }

    async function assertNothingHappened(label: string): Promise<void> {
      assert.deepEqual(await aliceLogins(), [laptopLogin, phoneLogin].sort(), `${label}: alice's logins`);
      for (const action of ACTIONS) assert.equal(await action.happened(), false, `${label}: ${action.name}`);
      assert.equal((await laptop.get('/auth/me')).status, 200, `${label}: the laptop is still signed in`);
    }

    for (const attack of ATTACKS) {
      test(`forged with ${attack.name} → ${attack.status} ${attack.code}; nothing happens`, async () => {
        await assertNothingHappened('before');
        let token = attack.token?.();
        if (token === 'laptop' || token === 'laptop-altered') {
          const valid = await fetchCSRFToken(laptop);
          token = token === 'laptop' ? valid : `${valid.slice(0, -2)}${valid.endsWith('AA') ? 'BB' : 'AA'}`;
        }
        const eventsBefore = server.events.length;
        let sent = 0;
        for (const action of ACTIONS) {
          for (const body of ['json', 'form'] as const) {
            if (body === 'form' && !action.form) continue;
            const label = `${action.name} (${body})`;
            assertRefused(
              await send(action, attack.headers(), token, body),
              attack.status,
              attack.code,
              label,
            );
            sent++;
          }
        }
        const expected = attack.code === 'cross_site_request' ? 'cross_site_rejected' : 'csrf_rejected';
        const events = server.events.slice(eventsBefore).map((event) => event.type);
        assert.equal(events.filter((type) => type === expected).length, sent, `${sent} ${expected} events`);
        assert.deepEqual(
          events.filter((type) => type !== expected),
          [],
          'no other event: nothing logged out, revoked, blocked or created',
        );
        await assertNothingHappened('after');
      });
    }

    if (strategy !== 'session') {
      test('a cross-site refresh with the refresh cookie → 403 cross_site_request; nothing rotates', async () => {
        const browser = new Client(server.url);
        await scriptSignIn('bob', browser);
        const refreshCookie = [...browser.cookies].find(([name]) => name.endsWith('keycard_refresh'));
        assert.ok(refreshCookie, 'the login set a refresh cookie');
        const eventsBefore = server.events.length;
        for (const headers of [
          { origin: EVIL },
          { origin: EVIL, 'sec-fetch-site': 'cross-site' },
          { origin: 'null' },
        ] as Record<string, string>[]) {
          // With the access cookie too (refused before any route), and with the refresh cookie alone (an
          // expired access cookie is gone from the browser): the refresh route checks the origin itself.
          assertRefused(
            await browser.post('/auth/refresh', { headers }),
            403,
            'cross_site_request',
            'refresh',
          );
          const alone = await request(server.url, 'POST', '/auth/refresh', {
            headers: { ...headers, cookie: `${refreshCookie[0]}=${refreshCookie[1]}` },
          });
          assertRefused(alone, 403, 'cross_site_request', 'refresh cookie alone');
        }
        const refreshed = () => server.events.slice(eventsBefore).filter((e) => e.type === 'token_refreshed');
        assert.deepEqual(refreshed(), []);
        // Control: the same cookie from no browser page rotates (so the check above can fail).
        const control = await request(server.url, 'POST', '/auth/refresh', {
          headers: { cookie: `${refreshCookie[0]}=${refreshCookie[1]}` },
        });
        assert.equal(control.status, 200, control.text);
        assert.equal(refreshed().length, 1);
      });
    }

    describe('login CSRF', () => {
      const credentials = { username: 'alice', password: PASSWORDS.alice };

      /** Sends the login and asserts the refusal, and that alice has exactly the logins she had before. */
      async function assertNoLogin(
        send: () => Promise<Response>,
        status: number,
        code: string,
        label: string,
      ): Promise<void> {
        const before = await aliceLogins();
        const response = await send();
        assert.equal(response.status, status, `${label}: ${response.text.slice(0, 200)}`);
        assert.equal(response.json?.error?.code, code, label);
        assert.deepEqual(credentialSetCookies(response), [], `${label}: no credential cookie`);
        assert.deepEqual(await aliceLogins(), before, `${label}: no login created`);
      }

      test('a browser login without the pre-login token → 403 csrf_rejected; nothing is created', async () => {
        const before = await aliceLogins();
        const eventsBefore = server.events.length;
        for (const headers of [
          { ...SAME_ORIGIN },
          { origin: server.url },
          { 'sec-fetch-site': 'none' },
        ] as Record<string, string>[]) {
          const browser = new Client(server.url);
          await fetchCSRFToken(browser); // the browser holds a pre-login cookie, the forger not its token
          await assertNoLogin(
            () => browser.post('/auth/login', { json: credentials, headers }),
            403,
            'csrf_rejected',
            JSON.stringify(headers),
          );
          const form = await browser.post('/auth/login', { form: credentials, headers });
          assert.equal(form.status, 403, 'form post');
          assert.deepEqual(credentialSetCookies(form), [], 'form post: no credential cookie');
        }
        assert.deepEqual(await aliceLogins(), before);
        const types = server.events.slice(eventsBefore).map((event) => event.type);
        assert.equal(types.includes('login_succeeded'), false);
        assert.equal(types.filter((type) => type === 'csrf_rejected').length, 6);
      });

      test('a token bound to another pre-login cookie, or sent without the cookie → 403 csrf_rejected', async () => {
        // The attacker's own pre-login cookie and token; the victim's browser has a cookie of its own.
        const attacker = new Client(server.url);
        const attackerToken = await fetchCSRFToken(attacker);
        const victim = new Client(server.url);
        const victimToken = await fetchCSRFToken(victim);
        await assertNoLogin(
          () =>
            victim.post('/auth/login', {
              json: credentials,
              headers: { ...SAME_ORIGIN, 'x-csrf-token': attackerToken },
            }),
          403,
          'csrf_rejected',
          "the attacker's token",
        );
        await assertNoLogin(
          () =>
            request(server.url, 'POST', '/auth/login', {
              json: credentials,
              headers: { ...SAME_ORIGIN, 'x-csrf-token': victimToken },
            }),
          403,
          'csrf_rejected',
          'no pre-login cookie',
        );
      });

      test('cross-site, a login is refused even with a matching pre-login cookie and token', async () => {
        const browser = new Client(server.url);
        const token = await fetchCSRFToken(browser);
        for (const headers of [
          { origin: EVIL },
          { origin: EVIL, 'sec-fetch-site': 'cross-site' },
          { origin: 'null' },
          { 'sec-fetch-site': 'same-site' },
        ] as Record<string, string>[]) {
          await assertNoLogin(
            () =>
              browser.post('/auth/login', {
                json: credentials,
                headers: { ...headers, 'x-csrf-token': token },
              }),
            403,
            'cross_site_request',
            JSON.stringify(headers),
          );
          const form = await browser.post('/auth/login', { form: { ...credentials, _csrf: token }, headers });
          assert.equal(form.status, 403);
          assert.deepEqual(credentialSetCookies(form), []);
        }
      });

      test('with the pre-login token (header or _csrf field) a browser login is accepted', async () => {
        const before = (await aliceLogins()).length;
        const browser = new Client(server.url);
        const token = await fetchCSRFToken(browser);
        const json = await browser.post('/auth/login', {
          json: credentials,
          headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
        });
        assert.equal(json.status, 200, json.text);
        assert.ok(credentialSetCookies(json).length > 0);
        assert.equal((await browser.get('/auth/me')).json.user.username, 'alice');

        const form = new Client(server.url);
        const formToken = await fetchCSRFToken(form);
        const posted = await form.post('/auth/login', {
          form: { ...credentials, _csrf: formToken },
          headers: { origin: server.url },
        });
        assert.equal(posted.status, 303, posted.text);
        assert.equal(posted.headers.location, '/account');
        assert.equal((await form.get('/auth/me')).json.user.username, 'alice');
        assert.equal((await aliceLogins()).length, before + 2);
        await server.keycard.logins.destroyForUser(ids.alice, json.json.session.id);
        await server.keycard.logins.destroyForUser(
          ids.alice,
          (await form.get('/auth/me')).json.session.id as string,
        );
      });

      test('the csrf_token a login returns works for the new login (docs/security.md)', async () => {
        const browser = new Client(server.url);
        const token = await fetchCSRFToken(browser);
        const login = await browser.post('/auth/login', {
          json: credentials,
          headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
        });
        assert.equal(login.status, 200, login.text);
        const csrfCookies = login.setCookies.filter((header) => header.includes('keycard_csrf='));
        assert.deepEqual(csrfCookies, [], 'the login mints no new pre-login cookie');
        const loginId = login.json.session.id as string;
        const response = await browser.post('/auth/logout', {
          json: {},
          headers: { ...SAME_ORIGIN, 'x-csrf-token': login.json.csrf_token },
        });
        if (response.status !== 200) await server.keycard.logins.destroyForUser(ids.alice, loginId);
        assert.equal(response.status, 200, response.text);
        assert.equal((await aliceLogins()).includes(loginId), false);
      });

      if (strategy !== 'session') {
        test("a cross-site refresh cannot sign the victim's browser in to the attacker's login", async () => {
          // The attacker signs in to their own account and keeps the refresh token.
          const attacker = new Client(server.url);
          await scriptSignIn('mallory', attacker);
          const refreshToken = [...attacker.cookies].find(([name]) => name.endsWith('keycard_refresh'))?.[1];
          assert.ok(refreshToken);
          // The victim's browser, signed out, is sent through an auto-submitting form on evil.example.
          const victim = new Client(server.url);
          const eventsBefore = server.events.length;
          const response = await victim.post('/auth/refresh', {
            form: { refresh_token: refreshToken },
            headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' },
          });
          const me = await victim.get('/auth/me');
          assert.deepEqual(credentialSetCookies(response), [], 'no credential cookie for the victim');
          assert.equal(me.status, 401, `the victim is signed in as ${me.json?.user?.username}`);
          assert.equal(response.status, 403);
          assert.deepEqual(
            server.events.slice(eventsBefore).filter((event) => event.type === 'token_refreshed'),
            [],
          );
        });
      }
    });

    test('a request from no browser page (no Origin, no Sec-Fetch-Site) needs no token, as documented', async () => {
      const other = await scriptSignIn('alice');
      const response = await laptop.delete(`/auth/sessions/${other}`);
      assert.equal(response.status, 200, response.text);
      assert.equal((await aliceLogins()).includes(other), false);
    });

    test('control: with its own token from its own origin, every forged action goes through', async () => {
      await assertNothingHappened('before');
      const token = await fetchCSRFToken(laptop);
      const done: string[] = [];
      // Least destructive first; each revocation of the phone gets a fresh phone login.
      for (const action of [...ACTIONS].reverse()) {
        if (action.name.startsWith('revoke') || action.name === 'log out everywhere') {
          if (!(await aliceLogins()).includes(phoneLogin)) phoneLogin = await scriptSignIn('alice');
        }
        if (action.name === 'log out everywhere') {
          // The laptop must survive to log out afterwards: all others only.
          const response = await laptop.post('/auth/logout-all', {
            json: { keepCurrent: true },
            headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
          });
          assert.equal(response.status, 200, response.text);
          assert.equal(await action.happened(), true, action.name);
          done.push(action.name);
          continue;
        }
        const response = await send(action, SAME_ORIGIN, token, action.form ? 'form' : 'json');
        assert.ok(response.status < 400, `${action.name}: ${response.status} ${response.text.slice(0, 200)}`);
        assert.equal(await action.happened(), true, action.name);
        done.push(action.name);
      }
      assert.equal(done.length, ACTIONS.length);
    });
  });
}
