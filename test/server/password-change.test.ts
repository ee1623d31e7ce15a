/**
 * POST /auth/password and the form on /account (issue 17), on keycard serve, for every strategy on every
 * store: the change with the current password, the other logins ended and this one kept, the refusals
 * (wrong current password, policy, mismatch, no login, cross-site), the throttle shared with sign-in,
 * simultaneous guesses, and a login ended before the change cannot make it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';
import {
  browserSignIn,
  fetchCSRFToken,
  browserPost as post,
  SAME_ORIGIN,
  type StrategyServer,
  startStrategyServer,
  storeSkipReasons,
} from '../security/helpers.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';
const SKIPS = await storeSkipReasons();

const STRATEGIES = ['session', 'hybrid', 'jwt'] as const;
for (const storeKind of ['memory', 'sqlite', 'redis', 'postgres'] as const) {
  for (const strategy of STRATEGIES) {
    describe(`POST /auth/password: ${strategy} on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
      let server: StrategyServer;
      let n = 0;
      /** A fresh user per test, so that throttle budgets and logins never carry over. */
      const newUser = async () => {
        const username = `user${++n}`;
        await server.keycard.users.create({ username, password: PASSWORD });
        return username;
      };
      const signedIn = async (username: string, password = PASSWORD) => {
        const client = new Client(server.url);
        await browserSignIn(client, username, password, SAME_ORIGIN);
        return client;
      };
      before(async () => {
        // A clock that does not move: a throttle wait never ends by itself during a test.
        server = await startStrategyServer(strategy, {
          store: storeKind,
          clock: new ManualClock(Date.now()),
        });
      });
      after(async () => {
        await server?.close();
      });

      test('with the current password: this login stays, the others end, only the new password signs in', async () => {
        const username = await newUser();
        const other = await signedIn(username);
        const mine = await signedIn(username);
        const changed = await post(mine, '/auth/password', {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        });
        assert.equal(changed.status, 200, changed.text);
        assert.deepEqual(changed.json, { ok: true });
        assert.equal((await mine.get('/auth/me')).status, 200, 'this login stays');
        // The other login: refused at once, except a jwt access token on a route that does not ask the store.
        const otherLive = await post(other, '/auth/logout-all', {});
        assert.equal(otherLive.status, 401, `${otherLive.status} ${otherLive.text}`);
        if (strategy !== 'jwt') assert.equal((await other.get('/auth/me')).status, 401);
        const old = await new Client(server.url).post('/auth/login', {
          json: { username, password: PASSWORD },
        });
        assert.equal(old.status, 401);
        await signedIn(username, NEW_PASSWORD);
      });

      test('refusals change nothing: wrong current password, policy, same password, mismatch', async () => {
        const username = await newUser();
        const mine = await signedIn(username);
        const cases: [Record<string, string>, number, string, string?][] = [
          [{ current_password: 'not the password', new_password: NEW_PASSWORD }, 401, 'invalid_credentials'],
          [{ current_password: PASSWORD, new_password: 'short' }, 400, 'invalid_request', 'new_password'],
          [{ current_password: PASSWORD, new_password: PASSWORD }, 400, 'invalid_request', 'new_password'],
          [
            { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: 'something else' },
            400,
            'invalid_request',
            'confirm_password',
          ],
          [{ current_password: PASSWORD }, 400, 'invalid_request', 'new_password'],
          [
            { current_password: PASSWORD, new_password: 'x'.repeat(5000) },
            400,
            'invalid_request',
            'new_password',
          ],
        ];
        for (const [body, status, code, field] of cases) {
          const response = await post(mine, '/auth/password', body);
          assert.equal(response.status, status, `${JSON.stringify(body).slice(0, 80)}: ${response.text}`);
          assert.equal(response.json.error.code, code);
          if (field) assert.equal(response.json.error.field, field);
        }
        assert.equal((await mine.get('/auth/me')).status, 200);
        assert.ok(
          (await server.keycard.users.verifyCredentials(username, PASSWORD)).ok,
          'the password stayed',
        );
      });

      test('without a login, and from another site, it is refused', async () => {
        const anonymous = new Client(server.url);
        const response = await post(anonymous, '/auth/password', {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        });
        assert.equal(response.status, 401);
        const username = await newUser();
        const mine = await signedIn(username);
        const token = await fetchCSRFToken(mine, SAME_ORIGIN);
        const crossSite = await mine.post('/auth/password', {
          json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
          headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'x-csrf-token': token },
        });
        assert.equal(crossSite.status, 403, crossSite.text);
        const noToken = await mine.post('/auth/password', {
          json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
          headers: SAME_ORIGIN,
        });
        assert.equal(noToken.status, 403, noToken.text);
        assert.ok((await server.keycard.users.verifyCredentials(username, PASSWORD)).ok);
      });

      test('simultaneous wrong guesses are held to the sign-in budget, and then the right one waits too', async () => {
        const username = await newUser();
        const mine = await signedIn(username);
        const token = await fetchCSRFToken(mine, SAME_ORIGIN);
        const guesses = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            mine.post('/auth/password', {
              json: { current_password: `wrong-${i}`, new_password: NEW_PASSWORD },
              headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
            }),
          ),
        );
        const statuses = guesses.map((response) => response.status);
        assert.ok(
          statuses.every((status) => status === 401 || status === 429),
          statuses.join(','),
        );
        const user = await server.keycard.users.findByUsername(username);
        const checked = server.events.filter(
          (event) => event.type === 'password_change_failed' && event.userId === user?.id,
        ).length;
        // Five free failures, then one attempt per wait, and the clock stands still: six at most.
        assert.ok(checked >= 1 && checked <= 6, `${checked} guesses checked`);
        assert.ok(statuses.includes(429), 'the budget ran out');
        const right = await post(mine, '/auth/password', {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        });
        assert.equal(right.status, 429, right.text);
        assert.ok(right.headers['retry-after']);
        assert.ok((await server.keycard.users.verifyCredentials(username, PASSWORD)).ok, 'nothing changed');
      });

      test('the form on /account: changed, or the refusal said by a code the page looks up', async () => {
        const username = await newUser();
        const mine = await signedIn(username);
        const html = { accept: 'text/html' };
        const account = await mine.get('/account', { headers: html });
        if (account.status !== 200) return; // the spa preset's resume page; covered by the browser tests
        assert.match(account.text, /name="current_password"[^>]*autocomplete="current-password"/);
        assert.match(account.text, /name="new_password"[^>]*autocomplete="new-password"/);
        const wrong = await post(
          mine,
          '/auth/password',
          { current_password: 'nope', new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD },
          true,
        );
        assert.equal(wrong.status, 303);
        assert.equal(wrong.headers.location, '/account?password=invalid_credentials');
        const said = await mine.get(String(wrong.headers.location), { headers: html });
        assert.match(said.text, /The current password is not right/);
        // A crafted outcome shows nothing of itself.
        const crafted = await mine.get('/account?password=%3Cscript%3Ealert(1)%3C%2Fscript%3E', {
          headers: html,
        });
        assert.equal(crafted.status, 200);
        assert.doesNotMatch(crafted.text, /alert\(1\)/);
        const done = await post(
          mine,
          '/auth/password',
          { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD },
          true,
        );
        assert.equal(done.headers.location, '/account?password=changed');
        assert.match(
          (await mine.get('/account?password=changed', { headers: html })).text,
          /Your password was changed/,
        );
      });
    });
  }
}
