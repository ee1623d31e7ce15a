/**
 * The sampler behind `keycard_active_logins` (src/server/metrics/sampler.ts): the store is counted at most
 * once per interval of the injected clock, concurrent scrapes share one count, and a failed count leaves
 * no value (never a stale one) until a count one interval later succeeds. Time is the test's clock; a
 * count is a promise the test settles, so nothing here waits for real time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSampler } from '../../src/server/metrics/sampler.js';
import { ManualClock } from '../helpers/clock.js';

/** A count the test answers by hand: every call is recorded with its `now`, and waits for `settle`. */
function manualCount() {
  const calls: { now: number; resolve(value: number): void; reject(error: Error): void }[] = [];
  const read = (now: number) =>
    new Promise<number>((resolve, reject) => {
      calls.push({ now, resolve, reject });
    });
  return { calls, read };
}

/** Lets promise callbacks run (no timers involved). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('metrics sampler', () => {
  test('counts on the first ask, then at most once per interval of the clock', async () => {
    const clock = new ManualClock();
    const { calls, read } = manualCount();
    const errors: unknown[] = [];
    const sampler = createSampler(read, {
      clock,
      intervalMs: 30_000,
      onError: (error) => errors.push(error),
    });
    const first = sampler.value();
    await settled();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.now, clock.now(), 'the count is asked for the clock’s now');
    calls[0]?.resolve(7);
    assert.equal(await first, 7);
    clock.advance(29_999);
    assert.equal(await sampler.value(), 7, 'within the interval: the cached count');
    assert.equal(calls.length, 1, 'and no second count');
    clock.advance(1);
    const second = sampler.value();
    await settled();
    assert.equal(calls.length, 2, 'the interval passed: counted again');
    calls[1]?.resolve(9);
    assert.equal(await second, 9);
    assert.deepEqual(errors, []);
  });

  test('scrapes that arrive during a count share it', async () => {
    const clock = new ManualClock();
    const { calls, read } = manualCount();
    const sampler = createSampler(read, { clock, intervalMs: 30_000, onError: () => {} });
    const scrapes = [sampler.value(), sampler.value(), sampler.value()];
    await settled();
    assert.equal(calls.length, 1);
    calls[0]?.resolve(3);
    assert.deepEqual(await Promise.all(scrapes), [3, 3, 3]);
  });

  test('a failed count leaves no value, is reported once, and is retried only after the interval', async () => {
    const clock = new ManualClock();
    const { calls, read } = manualCount();
    const errors: unknown[] = [];
    const sampler = createSampler(read, {
      clock,
      intervalMs: 30_000,
      onError: (error) => errors.push(error),
    });
    const first = sampler.value();
    await settled();
    calls[0]?.resolve(5);
    assert.equal(await first, 5);
    clock.advance(30_000);
    const failing = sampler.value();
    await settled();
    const failure = new Error('store unavailable');
    calls[1]?.reject(failure);
    assert.equal(await failing, null, 'no value, not the previous 5');
    assert.deepEqual(errors, [failure]);
    clock.advance(10_000);
    assert.equal(await sampler.value(), null, 'still none within the interval');
    assert.equal(calls.length, 2, 'and the store is not asked again yet');
    clock.advance(20_000);
    const recovered = sampler.value();
    await settled();
    assert.equal(calls.length, 3);
    calls[2]?.resolve(6);
    assert.equal(await recovered, 6);
    assert.equal(errors.length, 1);
  });

  test('a clock set back makes the count due rather than frozen until it catches up', async () => {
    const clock = new ManualClock();
    const { calls, read } = manualCount();
    const sampler = createSampler(read, { clock, intervalMs: 30_000, onError: () => {} });
    const first = sampler.value();
    await settled();
    calls[0]?.resolve(1);
    await first;
    clock.advance(-60_000);
    const again = sampler.value();
    await settled();
    assert.equal(calls.length, 2);
    calls[1]?.resolve(2);
    assert.equal(await again, 2);
  });
});

describe('metrics sampler: a slow count', () => {
  test('is repeated no sooner than twenty times its duration, so counting takes at most 5 % of the time', async () => {
    const clock = new ManualClock();
    let reads = 0;
    // Each count takes 3 s of the clock: more than a twentieth of the 30 s interval.
    const read = async () => {
      reads++;
      clock.advance(3000);
      return reads;
    };
    const sampler = createSampler(read, { clock, intervalMs: 30_000, onError: () => {} });
    assert.equal(await sampler.value(), 1);
    clock.advance(30_000 - 3000); // 30 s after the count started
    assert.equal(await sampler.value(), 1, 'the interval alone is not enough after a slow count');
    clock.advance(30_000 - 1); // 1 ms short of 20 × 3 s after the start
    assert.equal(await sampler.value(), 1);
    clock.advance(1);
    assert.equal(await sampler.value(), 2, '60 s after the slow count started');
    assert.equal(reads, 2);
  });
});
