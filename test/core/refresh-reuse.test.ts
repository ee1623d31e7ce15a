/**
 * Refresh-token reuse through the request core (Keycard.signIn / refresh / authenticate), for the token
 * strategies: a spent refresh token presented after the grace window is refused with
 * `refresh_token_reused` and ends the whole login family (docs/jwt.md, Refresh tokens). The adapter and
 * server suites drive the same rule over HTTP; this one needs no socket and moves time by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthEvent } from '../../src/core/events.js';
import { createKeySet, generateJWTKey } from '../../src/core/jwt/keys.js';
import { createKeycard } from '../../src/core/keycard.js';
import type { IssuedTokens } from '../../src/core/request/state.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectKeycardError, FAST_ARGON2, rejected, requestInfo } from './support.js';

const PASSWORD = 'correct horse battery staple';
/** `jwt.refreshGrace`, its default, given explicitly. */
const GRACE_MS = 15_000;

for (const strategy of ['jwt', 'hybrid'] as const) {
  describe(`refresh-token reuse through the request core: ${strategy} strategy`, () => {
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
        jwt: {
          keys: createKeySet([generateJWTKey('EdDSA', 'k1')]),
          transport: 'header',
          refreshGrace: `${GRACE_MS / 1000}s`,
        },
        onEvent: (event) => events.push(event),
      });
      const alice = await keycard.users.create({ username: 'alice', password: PASSWORD });
      /** A request from the header client: no cookies, the access token (if any) as a Bearer. */
      const request = (access?: string) =>
        keycard.authenticate(
          requestInfo({
            method: access ? 'GET' : 'POST',
            headers: { host: 'api.example', authorization: access && `Bearer ${access}` },
          }),
          () => assert.fail('a header client is sent no cookies'),
        );
      const signIn = async (): Promise<IssuedTokens> => {
        const context = await request();
        const result = await keycard.signIn(context, { username: 'alice', password: PASSWORD });
        assert.ok(result.ok);
        assert.ok(context.tokens);
        return context.tokens;
      };
      /** Refreshes with `refreshToken` on a new request: the tokens it issued. */
      const refresh = async (refreshToken: string): Promise<IssuedTokens> => {
        const context = await request();
        await keycard.refresh(context, refreshToken);
        assert.ok(context.tokens);
        return context.tokens;
      };
      /** The login an access token belongs to (its `sid`), as a request carrying it sees it. */
      const loginOf = async (access: string): Promise<string> => {
        const context = await request(access);
        assert.ok(context.loginId, 'the access token verifies');
        return context.loginId;
      };
      return { clock, store, events, keycard, alice, request, signIn, refresh, loginOf };
    };

    test('a rotated refresh token presented after the grace window is refused and ends the whole login', async () => {
      const h = await harness();
      try {
        const first = await h.signIn();
        const loginId = await h.loginOf(first.access_token);
        h.clock.advanceSeconds(1);
        const second = await h.refresh(first.refresh_token);
        assert.notEqual(second.refresh_token, first.refresh_token);
        assert.equal(await h.loginOf(second.access_token), loginId, 'the same login');

        // At the end of the grace window the spent token still gets the current one (two tabs raced)…
        h.clock.advance(GRACE_MS);
        assert.equal((await h.refresh(first.refresh_token)).refresh_token, second.refresh_token);
        // …one millisecond later it is a copy: refused, and the family ends.
        h.clock.advance(1);
        h.events.length = 0;
        const error = expectKeycardError(
          await rejected(() => h.refresh(first.refresh_token)),
          'refresh_token_reused',
        );
        assert.equal(error.status, 401);
        assert.deepEqual(
          h.events.map((event) => [
            event.type,
            'userId' in event && event.userId,
            'sessionId' in event && event.sessionId,
          ]),
          [['refresh_token_reused', h.alice.id, loginId]],
        );

        // The login record is gone, so the newest refresh token of the family is dead too…
        assert.equal(await h.store.getLogin(loginId), null);
        expectKeycardError(await rejected(() => h.refresh(second.refresh_token)), 'token_invalid');
        // …and its access tokens are revoked: a revocation record for the login is stored.
        const now = h.clock.now();
        assert.ok((await h.store.listRevocations(now)).some((r) => r.kind === 'login' && r.id === loginId));
        const context = await h.request(second.access_token);
        if (strategy === 'hybrid') {
          // The revocation list refuses the live access token at once, with no store read.
          assert.equal(context.user, null);
          assert.equal(context.problem, 'revoked');
        } else {
          // jwt verifies access tokens without the store (the documented trade-off: it stays valid where
          // nothing reads the store until it expires); a check of the login refuses it.
          assert.equal(context.user?.id, h.alice.id);
          expectKeycardError(await rejected(() => context.confirmLive()), 'token_revoked');
        }
      } finally {
        await h.keycard.close();
        await h.store.close();
      }
    });
  });
}
