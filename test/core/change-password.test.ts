/**
 * Keycard.changePassword through the request core, for the token strategies (header clients): the
 * current password is a guess like a login's and draws on the same throttle budget; on success the other
 * logins end — their access tokens refused at once under hybrid — and the login that changed it stays.
 * HTTP, pages and every store are covered by the server's suites once the route lands.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthEvent } from '../../src/core/events.js';
import { createKeySet, generateJWTKey } from '../../src/core/jwt/keys.js';
import { createKeycard } from '../../src/core/keycard.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectKeycardError, FAST_ARGON2, rejected, requestInfo } from './support.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';

for (const strategy of ['jwt', 'hybrid'] as const) {
  describe(`changePassword through the request core: ${strategy} strategy`, () => {
    const harness = async () => {
      const clock = new ManualClock(Date.now());
      const store = new MemoryStore({ clock });
      const events: AuthEvent[] = [];
      const keycard = createKeycard({
        store,
        clock,
        strategy,
        environment: 'development',
        passwords: { argon2: FAST_ARGON2 },
        jwt: { keys: createKeySet([generateJWTKey('EdDSA', 'k1')]), transport: 'header' },
        onEvent: (event) => events.push(event),
      });
      await keycard.users.create({ username: 'alice', password: PASSWORD });
      const request = (access?: string, ip = '198.51.100.7') =>
        keycard.authenticate(
          requestInfo({
            method: 'POST',
            ip,
            headers: { host: 'api.example', authorization: access && `Bearer ${access}` },
          }),
          () => assert.fail('a header client is sent no cookies'),
        );
      const signIn = async (password = PASSWORD): Promise<string> => {
        const context = await request();
        const result = await keycard.signIn(context, { username: 'alice', password });
        assert.ok(result.ok, 'signed in');
        assert.ok(context.tokens);
        return context.tokens.access_token;
      };
      return { clock, store, events, keycard, request, signIn };
    };

    test('with the current password: the other logins end, this one stays, the new password signs in', async () => {
      const h = await harness();
      try {
        const other = await h.signIn();
        const mine = await h.signIn();
        await h.keycard.changePassword(await h.request(mine), PASSWORD, NEW_PASSWORD);
        assert.ok((await h.request(mine)).user, 'this login stays');
        const otherNow = await h.request(other);
        if (strategy === 'hybrid')
          assert.equal(otherNow.user, null, 'hybrid refuses the ended login at once');
        await h.keycard.signIn(await h.request(), { username: 'alice', password: PASSWORD }).then((r) => {
          assert.equal(r.ok, false, 'the old password no longer signs in');
        });
        await h.signIn(NEW_PASSWORD);
        assert.ok(h.events.some((event) => event.type === 'password_changed'));
      } finally {
        await h.keycard.close();
      }
    });

    test('a wrong current password counts like a failed login: after 6, even the right one waits (429)', async () => {
      const h = await harness();
      try {
        const mine = await h.signIn();
        for (let i = 0; i < 6; i++) {
          const context = await h.request(mine);
          const error = await rejected(() => h.keycard.changePassword(context, `wrong-${i}`, NEW_PASSWORD));
          assert.ok(['invalid_credentials', 'too_many_requests'].includes((error as { code: string }).code));
        }
        const context = await h.request(mine);
        const refused = expectKeycardError(
          await rejected(() => h.keycard.changePassword(context, PASSWORD, NEW_PASSWORD)),
          'too_many_requests',
        );
        assert.ok(refused.status === 429);
        assert.ok((await h.keycard.users.verifyCredentials('alice', PASSWORD)).ok, 'nothing changed');
        assert.ok(h.events.filter((event) => event.type === 'password_change_failed').length >= 1);
        // The budget is this account's from this address: the sign-in form is limited alike.
        const login = await h.keycard.signIn(await h.request(), { username: 'alice', password: PASSWORD });
        assert.equal(login.ok, false);
      } finally {
        await h.keycard.close();
      }
    });

    test("ten simultaneous wrong guesses check at most the pair's budget (5 free, then one per wait)", async () => {
      const h = await harness();
      try {
        const mine = await h.signIn();
        const contexts = await Promise.all(Array.from({ length: 10 }, () => h.request(mine)));
        const outcomes = await Promise.all(
          contexts.map((context, i) =>
            rejected(() => h.keycard.changePassword(context, `wrong-${i}`, NEW_PASSWORD)).then(
              (error) => (error as { code: string }).code,
            ),
          ),
        );
        // Every checked guess is audited; the others were refused before any hashing.
        const checked = h.events.filter((event) => event.type === 'password_change_failed').length;
        assert.ok(checked >= 1 && checked <= 6, `${checked} passwords checked: ${outcomes.join(', ')}`);
        assert.ok(outcomes.every((code) => code === 'invalid_credentials' || code === 'too_many_requests'));
        assert.ok((await h.keycard.users.verifyCredentials('alice', PASSWORD)).ok, 'nothing changed');
      } finally {
        await h.keycard.close();
      }
    });

    test('without a login it is unauthenticated, and a policy refusal is not counted as a guess', async () => {
      const h = await harness();
      try {
        expectKeycardError(
          await rejected(async () => h.keycard.changePassword(await h.request(), PASSWORD, NEW_PASSWORD)),
          'unauthenticated',
        );
        const mine = await h.signIn();
        for (let i = 0; i < 8; i++) {
          expectKeycardError(
            await rejected(async () => h.keycard.changePassword(await h.request(mine), PASSWORD, 'short')),
            'invalid_request',
          );
        }
        await h.keycard.changePassword(await h.request(mine), PASSWORD, NEW_PASSWORD);
      } finally {
        await h.keycard.close();
      }
    });
  });
}
