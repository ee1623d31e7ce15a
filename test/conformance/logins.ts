/**
 * Logins (sessions, and the token strategies' logins): round trips, touches, data patches, deletes, the per-user
 * index with its pages, and the refresh rotation's compare-and-set.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, type TestContext, test } from 'node:test';
import { generateId, generateToken, hashToken } from '../../src/core/random-tokens.js';
import type { Store } from '../../src/core/store.js';
import { type Conformance, HOUR, refreshFixture, sessionFixture, tokenLoginFixture } from './fixtures.js';

export function describeLoginConformance(ctx: Conformance): void {
  describe('logins', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    test('returns null for an unknown session id', async () => {
      assert.equal(await store.getLogin(hashToken(generateToken())), null);
    });

    test('round-trips a session record exactly', async () => {
      const record = sessionFixture(clock, { data: { cart: [1, 2], nested: { a: 'é' } } });
      await store.createLogin(record);
      assert.deepEqual(await store.getLogin(record.id), record);
    });

    test('round-trips an anonymous session with no user, agent or address', async () => {
      const record = sessionFixture(clock, { user: null, userAgent: null, ip: null, data: { step: 1 } });
      await store.createLogin(record);
      assert.deepEqual(await store.getLogin(record.id), record);
    });

    test('keeps __proto__ and constructor as plain data keys', async () => {
      const data = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
      const record = sessionFixture(clock, { data });
      await store.createLogin(record);
      const loaded = await store.getLogin(record.id);
      assert.ok(loaded);
      assert.equal(Object.getPrototypeOf(loaded.data), Object.prototype);
      assert.deepEqual(Object.keys(loaded.data).sort(), ['__proto__', 'constructor']);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    test('touch moves activity and expiry forward and never rewrites data', async () => {
      const record = sessionFixture(clock, { data: { keep: 'me' } });
      await store.createLogin(record);
      await store.touchLogin(record.id, record.lastActiveAt + 1000, record.expiresAt + 1000);
      const touched = await store.getLogin(record.id);
      assert.equal(touched?.lastActiveAt, record.lastActiveAt + 1000);
      assert.equal(touched?.expiresAt, record.expiresAt + 1000);
      assert.deepEqual(touched?.data, { keep: 'me' });
    });

    test('touch never moves expiry backwards', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      await store.touchLogin(record.id, record.lastActiveAt - 5000, record.expiresAt - 5000);
      const loaded = await store.getLogin(record.id);
      assert.equal(loaded?.lastActiveAt, record.lastActiveAt);
      assert.equal(loaded?.expiresAt, record.expiresAt);
    });

    test('touch never extends past the absolute expiry', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      await store.touchLogin(record.id, record.lastActiveAt, record.absoluteExpiresAt + HOUR);
      assert.equal((await store.getLogin(record.id))?.expiresAt, record.absoluteExpiresAt);
    });

    test('touch of a deleted session does not bring it back', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      await store.deleteLogin(record.id);
      await store.touchLogin(record.id, record.lastActiveAt + 1000, record.expiresAt + 1000);
      assert.equal(await store.getLogin(record.id), null);
    });

    test('patch sets and removes top-level keys and leaves the others', async () => {
      const record = sessionFixture(clock, { data: { a: 1, b: 2, c: 3 } });
      await store.createLogin(record);
      const result = await store.patchLoginData(
        record.id,
        { set: { b: 20, d: { x: true } }, unset: ['c'] },
        { maxBytes: 1000 },
      );
      assert.equal(result, 'ok');
      assert.deepEqual((await store.getLogin(record.id))?.data, { a: 1, b: 20, d: { x: true } });
    });

    test('patch with touch moves activity forward in the same write', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      const touch = { lastActiveAt: record.lastActiveAt + 500, expiresAt: record.expiresAt + 500 };
      assert.equal(
        await store.patchLoginData(record.id, { set: { a: 1 }, unset: [] }, { maxBytes: 1000, touch }),
        'ok',
      );
      const loaded = await store.getLogin(record.id);
      assert.equal(loaded?.lastActiveAt, touch.lastActiveAt);
      assert.equal(loaded?.expiresAt, touch.expiresAt);
    });

    test('patch of a deleted session reports missing and does not bring it back', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      await store.deleteLogin(record.id);
      assert.equal(
        await store.patchLoginData(record.id, { set: { late: 1 }, unset: [] }, { maxBytes: 1000 }),
        'missing',
      );
      assert.equal(await store.getLogin(record.id), null);
    });

    test('patch that would exceed the size limit is refused and changes nothing', async () => {
      const record = sessionFixture(clock, { data: { a: 'x'.repeat(50) } });
      await store.createLogin(record);
      const result = await store.patchLoginData(
        record.id,
        { set: { b: 'y'.repeat(100) }, unset: [] },
        { maxBytes: 120 },
      );
      assert.equal(result, 'too_large');
      assert.deepEqual((await store.getLogin(record.id))?.data, { a: 'x'.repeat(50) });
    });

    test('delete removes the session and reports whether it existed', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      assert.equal(await store.deleteLogin(record.id), true);
      assert.equal(await store.deleteLogin(record.id), false);
      assert.equal(await store.getLogin(record.id), null);
    });

    test('delete with a user id only deletes that user’s session', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      assert.equal(await store.deleteLogin(record.id, { userId: 'someone-else' }), false);
      assert.ok(await store.getLogin(record.id));
      assert.equal(await store.deleteLogin(record.id, { userId: 'user-1' }), true);
      assert.equal(await store.getLogin(record.id), null);
    });

    test('lists a user’s sessions newest first, and only theirs', async () => {
      const first = sessionFixture(clock);
      clock.advance(1000);
      const second = sessionFixture(clock);
      const other = sessionFixture(clock, { user: { id: 'user-2', username: 'bob', role: 'user' } });
      const anonymous = sessionFixture(clock, { user: null });
      for (const record of [first, second, other, anonymous]) await store.createLogin(record);
      const listed = await store.listUserLogins('user-1');
      assert.deepEqual(
        listed.map((session) => session.id),
        [second.id, first.id],
      );
      assert.deepEqual(await store.listUserLogins('nobody'), []);
    });

    test('deletes all of a user’s sessions, optionally except one, and no one else’s', async () => {
      const keep = sessionFixture(clock);
      const drop1 = sessionFixture(clock);
      const drop2 = sessionFixture(clock);
      const other = sessionFixture(clock, { user: { id: 'user-2', username: 'bob', role: 'user' } });
      for (const record of [keep, drop1, drop2, other]) await store.createLogin(record);
      assert.equal(await store.deleteUserLogins('user-1', { exceptId: keep.id }), 2);
      assert.deepEqual(
        (await store.listUserLogins('user-1')).map((session) => session.id),
        [keep.id],
      );
      assert.equal(await store.deleteUserLogins('user-1'), 1);
      assert.deepEqual(await store.listUserLogins('user-1'), []);
      assert.ok(await store.getLogin(other.id));
    });

    test('the per-user index forgets sessions deleted one by one', async () => {
      const a = sessionFixture(clock);
      const b = sessionFixture(clock);
      await store.createLogin(a);
      await store.createLogin(b);
      await store.deleteLogin(a.id);
      assert.deepEqual(
        (await store.listUserLogins('user-1')).map((session) => session.id),
        [b.id],
      );
      assert.equal(await store.deleteUserLogins('user-1'), 1);
    });

    test('round-trips a token login with its refresh state exactly', async () => {
      const record = tokenLoginFixture(clock, {
        refresh: refreshFixture(clock, { generation: 7, rotationsInWindow: 3, revocationTTLMs: 123_456 }),
      });
      await store.createLogin(record);
      assert.deepEqual(await store.getLogin(record.id), record);
    });

    test('pages a user’s logins newest first, ties by id descending, and counts them', async () => {
      const created = [];
      for (let i = 0; i < 7; i++) {
        // Two logins per millisecond: the id breaks the tie.
        if (i % 2 === 0) clock.advance(1);
        created.push(tokenLoginFixture(clock, { id: generateId() }));
      }
      for (const record of created) await store.createLogin(record);
      await store.createLogin(
        sessionFixture(clock, { user: { id: 'user-2', username: 'bob', role: 'user' } }),
      );
      const expected = [...created]
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        .map((record) => record.id);
      assert.deepEqual(
        (await store.listUserLogins('user-1')).map((record) => record.id),
        expected,
        'without a page: every one',
      );
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (;;) {
        const page = await store.listUserLogins('user-1', { limit: 3, after });
        assert.ok(page.length <= 3);
        seen.push(...page.map((record) => record.id));
        const last = page[page.length - 1];
        if (page.length < 3 || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      assert.deepEqual(seen, expected, 'the pages, joined, are the whole list in order');
      assert.equal(await store.countUserLogins('user-1'), 7);
      assert.equal(await store.countUserLogins('user-2'), 1);
      assert.equal(await store.countUserLogins('nobody'), 0);
      assert.deepEqual(await store.listUserLogins('nobody', { limit: 5 }), []);
    });

    test('advanceRefresh replaces the refresh state and touches the login when the generation matches', async () => {
      const record = tokenLoginFixture(clock, { data: { keep: 'me' } });
      await store.createLogin(record);
      clock.advance(5000);
      const next = {
        ...(record.refresh as NonNullable<typeof record.refresh>),
        generation: 1,
        rotatedAt: clock.now(),
        rotationsInWindow: 1,
      };
      const touch = { lastActiveAt: clock.now(), expiresAt: record.expiresAt + 5000 };
      const updated = await store.advanceRefresh(record.id, 0, next, touch);
      assert.ok(updated, 'the matching generation wins');
      assert.deepEqual(updated.refresh, next);
      assert.equal(updated.lastActiveAt, touch.lastActiveAt);
      assert.equal(updated.expiresAt, touch.expiresAt);
      assert.deepEqual(updated.data, { keep: 'me' });
      assert.deepEqual(await store.getLogin(record.id), updated, 'what it returns is what is stored');
    });

    test('advanceRefresh with a stale generation, a missing login or a session login changes nothing', async () => {
      const record = tokenLoginFixture(clock, { refresh: refreshFixture(clock, { generation: 4 }) });
      await store.createLogin(record);
      const next = refreshFixture(clock, { generation: 5 });
      const touch = { lastActiveAt: clock.now() + 1000, expiresAt: record.expiresAt + 1000 };
      assert.equal(await store.advanceRefresh(record.id, 3, next, touch), null, 'stale generation');
      assert.equal(await store.advanceRefresh(record.id, 5, next, touch), null, 'future generation');
      assert.deepEqual(await store.getLogin(record.id), record);
      assert.equal(await store.advanceRefresh(generateId(), 0, next, touch), null, 'no such login');
      const session = sessionFixture(clock);
      await store.createLogin(session);
      assert.equal(
        await store.advanceRefresh(session.id, 0, next, touch),
        null,
        'a session login has no refresh state',
      );
      assert.deepEqual(await store.getLogin(session.id), session);
      await store.deleteLogin(record.id);
      assert.equal(await store.advanceRefresh(record.id, 4, next, touch), null, 'an ended login');
      assert.equal(await store.getLogin(record.id), null, 'and it does not come back');
    });

    test('advanceRefresh moves activity only forward and never past the absolute expiry', async () => {
      const record = tokenLoginFixture(clock);
      await store.createLogin(record);
      const state = record.refresh as NonNullable<typeof record.refresh>;
      const back = await store.advanceRefresh(
        record.id,
        0,
        { ...state, generation: 1 },
        {
          lastActiveAt: record.lastActiveAt - 1000,
          expiresAt: record.expiresAt - 1000,
        },
      );
      assert.equal(back?.lastActiveAt, record.lastActiveAt);
      assert.equal(back?.expiresAt, record.expiresAt);
      const far = await store.advanceRefresh(
        record.id,
        1,
        { ...state, generation: 2 },
        {
          lastActiveAt: record.lastActiveAt + 1000,
          expiresAt: record.absoluteExpiresAt + HOUR,
        },
      );
      assert.equal(far?.expiresAt, record.absoluteExpiresAt);
      assert.equal(far?.refresh?.generation, 2);
    });

    describe('countLogins: live signed-in logins across every user (optional; every store keycard ships has it)', () => {
      /** The store's count, or null (the case is skipped) for a store without the optional method. */
      const counter = (t: TestContext): ((now: number) => Promise<number>) | null => {
        if (typeof store.countLogins === 'function')
          return (now) => (store.countLogins as (n: number) => Promise<number>).call(store, now);
        t.skip('the store has no countLogins (optional)');
        return null;
      };
      const bob = { id: 'user-2', username: 'bob', role: 'user' };

      test('counts the logins created, of every user and strategy, and not anonymous sessions', async (t) => {
        const count = counter(t);
        if (!count) return;
        assert.equal(await count(clock.now()), 0, 'an empty store');
        await store.createLogin(sessionFixture(clock));
        await store.createLogin(tokenLoginFixture(clock));
        await store.createLogin(sessionFixture(clock, { user: bob }));
        await store.createLogin(tokenLoginFixture(clock, { user: bob }));
        await store.createLogin(
          sessionFixture(clock, { user: { id: 'user-3', username: 'carol', role: 'admin' } }),
        );
        await store.createLogin(sessionFixture(clock, { user: null, data: { cart: [1] } }));
        assert.equal(await count(clock.now()), 5);
      });

      test('drops logins ended one by one or all of a user’s at once', async (t) => {
        const count = counter(t);
        if (!count) return;
        const a = sessionFixture(clock);
        const b = tokenLoginFixture(clock);
        const others = [sessionFixture(clock, { user: bob }), sessionFixture(clock, { user: bob })];
        for (const record of [a, b, ...others]) await store.createLogin(record);
        assert.equal(await count(clock.now()), 4);
        assert.equal(await store.deleteLogin(a.id), true);
        assert.equal(await count(clock.now()), 3, 'one ended');
        assert.equal(await store.deleteUserLogins('user-2'), 2);
        assert.equal(await count(clock.now()), 1, 'all of bob’s ended');
        assert.equal(await store.deleteLogin(b.id), true);
        assert.equal(await count(clock.now()), 0);
      });

      test('leaves out logins whose idle expiry is not after now, and follows a touch', async (t) => {
        const count = counter(t);
        if (!count) return;
        const now = clock.now();
        // Minutes, not milliseconds: Redis expires a key by its TTL in real time, too.
        const tenMinutes = 10 * 60_000;
        // Expired before the count: stored, or dropped at once (Redis); never counted.
        await store.createLogin(sessionFixture(clock, { expiresAt: now - 1 }));
        const short = sessionFixture(clock, { expiresAt: now + tenMinutes });
        const long = tokenLoginFixture(clock, { user: bob, expiresAt: now + HOUR });
        await store.createLogin(short);
        await store.createLogin(long);
        assert.equal(await count(now), 2);
        assert.equal(await count(now + tenMinutes - 1), 2, 'both live just before the short one expires');
        assert.equal(await count(now + tenMinutes), 1, 'expired at its expiry, as validation has it');
        await store.touchLogin(short.id, now + 1000, now + 2 * HOUR);
        clock.advance(HOUR);
        assert.equal(await count(clock.now()), 1, 'an hour on: the touched one lives, the other has expired');
        clock.advance(HOUR);
        assert.equal(await count(clock.now()), 0, 'two hours on: neither');
      });
    });

    // guards: a login refreshed thousands of times must not leave a record per refresh (issue 12, point 5)
    test('2,000 rotations keep the record count constant, and ending the login removes everything', async () => {
      const baseline = await ctx.harness.recordCount();
      const record = tokenLoginFixture(clock);
      await store.createLogin(record);
      const withLogin = await ctx.harness.recordCount();
      assert.ok(withLogin > baseline, 'the login is counted');
      let state = record.refresh as NonNullable<typeof record.refresh>;
      for (let i = 0; i < 2000; i++) {
        clock.advance(10);
        const next = { ...state, generation: state.generation + 1, rotatedAt: clock.now() };
        const updated = await store.advanceRefresh(record.id, state.generation, next, {
          lastActiveAt: clock.now(),
          expiresAt: clock.now() + HOUR,
        });
        assert.ok(updated, `rotation ${i}`);
        state = next;
      }
      assert.equal(await ctx.harness.recordCount(), withLogin, 'no record per rotation');
      assert.equal(await store.deleteLogin(record.id), true);
      assert.equal(await ctx.harness.recordCount(), baseline, 'nothing of the login is left');
    });
  });
}
