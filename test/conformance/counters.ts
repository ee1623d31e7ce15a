/**
 * Throttling counters: fixed windows, reset, release of a reservation, and concurrent increments.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { generateId } from '../../src/core/random-tokens.js';
import type { Store } from '../../src/core/store.js';
import type { Conformance } from './fixtures.js';

export function describeCounterConformance(ctx: Conformance): void {
  describe('counters', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    test('counts within a window, then starts again', async () => {
      const key = `login:${generateId()}`;
      assert.equal(await store.readCounter(key, clock.now()), null);
      const first = await store.incrementCounter(key, 60_000, clock.now());
      assert.deepEqual(first, { count: 1, resetAt: clock.now() + 60_000 });
      clock.advance(1000);
      assert.deepEqual(await store.incrementCounter(key, 60_000, clock.now()), {
        count: 2,
        resetAt: first.resetAt,
      });
      assert.deepEqual(await store.readCounter(key, clock.now()), { count: 2, resetAt: first.resetAt });
      clock.advance(59_000);
      assert.equal(await store.readCounter(key, clock.now()), null);
      assert.deepEqual(await store.incrementCounter(key, 60_000, clock.now()), {
        count: 1,
        resetAt: clock.now() + 60_000,
      });
    });

    test('reset clears a counter; counters are independent', async () => {
      const a = `ip:${generateId()}`;
      const b = `ip:${generateId()}`;
      await store.incrementCounter(a, 60_000, clock.now());
      await store.incrementCounter(b, 60_000, clock.now());
      await store.resetCounter(a);
      assert.equal(await store.readCounter(a, clock.now()), null);
      assert.equal((await store.readCounter(b, clock.now()))?.count, 1);
    });

    test('concurrent increments are all counted', async () => {
      const key = `user:${generateId()}`;
      await Promise.all(Array.from({ length: 50 }, () => store.incrementCounter(key, 60_000, clock.now())));
      assert.equal((await store.readCounter(key, clock.now()))?.count, 50);
    });

    test('release takes back one increment of the window it went into, and nothing else', async () => {
      const key = `login:${generateId()}`;
      const first = await store.incrementCounter(key, 60_000, clock.now());
      await store.incrementCounter(key, 60_000, clock.now());
      await store.releaseCounter(key, first.resetAt, clock.now());
      assert.deepEqual(await store.readCounter(key, clock.now()), { count: 1, resetAt: first.resetAt });
      await store.releaseCounter(key, first.resetAt + 1, clock.now());
      assert.equal((await store.readCounter(key, clock.now()))?.count, 1, 'another window: untouched');
      await store.releaseCounter(key, first.resetAt, clock.now());
      await store.releaseCounter(key, first.resetAt, clock.now());
      const drained = await store.readCounter(key, clock.now());
      assert.ok(drained === null || drained.count === 0, 'never below zero');
      assert.deepEqual(await store.incrementCounter(key, 60_000, clock.now()), {
        count: 1,
        resetAt: first.resetAt,
      });
      clock.advance(60_000);
      const next = await store.incrementCounter(key, 60_000, clock.now());
      await store.releaseCounter(key, first.resetAt, clock.now());
      assert.deepEqual(await store.readCounter(key, clock.now()), next, 'an old window’s release is ignored');
      const missing = `login:${generateId()}`;
      await store.releaseCounter(missing, next.resetAt, clock.now());
      assert.equal(await store.readCounter(missing, clock.now()), null, 'releasing nothing creates nothing');
    });
  });
}
