/**
 * Races: concurrent operations on one record, which every store must make atomic.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { generateId } from '../../src/core/random-tokens.js';
import type { Store } from '../../src/core/store.js';
import { type Conformance, sessionFixture, tokenLoginFixture, userFixture } from './fixtures.js';

export function describeRaceConformance(ctx: Conformance): void {
  describe('races', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    test('concurrent patches of different keys all persist', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.patchLoginData(record.id, { set: { [`key${i}`]: i }, unset: [] }, { maxBytes: 100_000 }),
        ),
      );
      const data = (await store.getLogin(record.id))?.data ?? {};
      for (let i = 0; i < 40; i++) assert.equal(data[`key${i}`], i, `key${i} was lost`);
    });

    test('touches, patches and a delete racing on one session never revive it', async () => {
      for (let round = 0; round < 10; round++) {
        const record = sessionFixture(clock);
        await store.createLogin(record);
        const operations: Promise<unknown>[] = [];
        for (let i = 0; i < 20; i++) {
          if (i === 7) operations.push(store.deleteLogin(record.id));
          operations.push(store.touchLogin(record.id, record.lastActiveAt + i, record.expiresAt + i));
          operations.push(
            store.patchLoginData(record.id, { set: { [`k${i}`]: i }, unset: [] }, { maxBytes: 100_000 }),
          );
        }
        await Promise.all(operations);
        assert.equal(await store.getLogin(record.id), null, `round ${round}: the session came back`);
        assert.deepEqual(await store.listUserLogins('user-1'), []);
      }
    });

    test('concurrent touches leave the latest activity', async () => {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      const offsets = Array.from({ length: 30 }, (_, i) => (i * 7919) % 30);
      await Promise.all(
        offsets.map((offset) =>
          store.touchLogin(record.id, record.lastActiveAt + offset, record.expiresAt + offset),
        ),
      );
      const loaded = await store.getLogin(record.id);
      assert.equal(loaded?.lastActiveAt, record.lastActiveAt + 29);
      assert.equal(loaded?.expiresAt, record.expiresAt + 29);
    });

    test('concurrent creation of one username admits exactly one', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => store.createUser(userFixture(clock, { username: 'race' }))),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      assert.equal(await store.countUsers(), 1);
    });

    // guards: two tabs refreshing at once must rotate once (the rest see another rotation won)
    test('concurrent advanceRefresh of one generation: exactly one wins', async () => {
      for (let round = 0; round < 5; round++) {
        const record = tokenLoginFixture(clock);
        await store.createLogin(record);
        const state = record.refresh as NonNullable<typeof record.refresh>;
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.advanceRefresh(
              record.id,
              0,
              { ...state, generation: 1, rotatedAt: clock.now() + i, rotationsInWindow: i },
              { lastActiveAt: clock.now() + i, expiresAt: record.expiresAt + i },
            ),
          ),
        );
        const winners = results.filter((result) => result !== null);
        assert.equal(winners.length, 1, `round ${round}`);
        assert.deepEqual((await store.getLogin(record.id))?.refresh, winners[0]?.refresh);
      }
    });

    test('concurrent creation of look-alike usernames admits exactly one', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.createUser(userFixture(clock, { username: `lookalike${i}`, skeleton: 'one-skeleton' })),
        ),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      assert.equal(await store.countUsers(), 1);
    });

    test('concurrent increments and releases of one window net out exactly', async () => {
      const key = `pair:${generateId()}`;
      let first = await store.incrementCounter(key, 60_000, clock.now());
      for (let i = 0; i < 20; i++) first = await store.incrementCounter(key, 60_000, clock.now());
      assert.equal(first.count, 21);
      // 20 increments and 20 releases in any interleaving: the count never reaches zero on the way, so
      // it ends at 21 exactly if and only if every operation was atomic.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          i % 2 === 0
            ? store.incrementCounter(key, 60_000, clock.now())
            : store.releaseCounter(key, first.resetAt, clock.now()),
        ),
      );
      assert.equal((await store.readCounter(key, clock.now()))?.count, 21);
    });
  });
}
