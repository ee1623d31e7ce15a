/**
 * Brute-force throttling in core: the policy's arithmetic on a real (memory) store with a hand-moved clock,
 * its options, the address buckets, and how `signIn` applies it before any password is hashed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthEvent } from '../../src/core/events.js';
import { createKeycard } from '../../src/core/keycard.js';
import { resolveOptions } from '../../src/core/options.js';
import { addressBucket } from '../../src/core/throttle/address.js';
import { resolveThrottleOptions } from '../../src/core/throttle/options.js';
import { createThrottle, type Throttle, type ThrottleVerdict } from '../../src/core/throttle/throttle.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { expectKeycardError, FAST_ARGON2, outcome, requestInfo, thrown } from './support.js';

const DEFAULTS = resolveThrottleOptions(undefined);
assert.ok(DEFAULTS);
const POLICY = DEFAULTS;

function setup(): { throttle: Throttle; clock: ManualClock; counting: CountingStore } {
  const clock = new ManualClock();
  const counting = countingStore(new MemoryStore({ clock }));
  return { throttle: createThrottle(counting.store, POLICY, clock), clock, counting };
}

const refused = (verdict: ThrottleVerdict): { scope: string; retryAfterSeconds: number } => {
  assert.equal(verdict.ok, false, 'expected a refusal');
  if (verdict.ok) throw new Error('unreachable');
  return { scope: verdict.scope, retryAfterSeconds: verdict.retryAfterSeconds };
};

describe('throttle options', () => {
  test('defaults: 20 per address per 15 min; 5 free per pair, 1 s doubling to 5 min; 30 failed refreshes, 60 per login', () => {
    assert.deepEqual(DEFAULTS, {
      addressMaxFailures: 20,
      addressWindowMs: 15 * 60_000,
      accountFreeFailures: 5,
      baseDelayMs: 1000,
      maxDelayMs: 5 * 60_000,
      accountWindowMs: 3_600_000,
      attackThreshold: 20,
      knownAddressMs: 30 * 86_400_000,
      refreshMaxFailures: 30,
      refreshMaxPerLogin: 60,
      refreshWindowMs: 15 * 60_000,
    });
  });

  test('false turns throttling off; options override the defaults', () => {
    assert.equal(resolveThrottleOptions(false), null);
    const store = new MemoryStore();
    assert.equal(resolveOptions({ store, throttle: false }).throttle, null);
    const policy = resolveOptions({
      store,
      throttle: { address: { maxFailures: 3, window: '1m' }, account: { maxDelay: '2m' } },
    }).throttle;
    assert.equal(policy?.addressMaxFailures, 3);
    assert.equal(policy?.addressWindowMs, 60_000);
    assert.equal(policy?.maxDelayMs, 120_000);
    assert.equal(policy?.accountFreeFailures, 5);
  });

  test('refusals name the option and what is expected', () => {
    const cases: [unknown, RegExp][] = [
      [{ address: { maxFailures: 0 } }, /throttle\.address\.maxFailures must be a whole number from 1/],
      [{ account: { freeFailures: 1.5 } }, /throttle\.account\.freeFailures/],
      [{ account: { maxDelay: 300 } }, /throttle\.account\.maxDelay must be a duration string/],
      [{ refresh: { window: '15 minutes' } }, /throttle\.refresh\.window/],
      [{ account: { baseDelay: '10m', maxDelay: '5m' } }, /baseDelay must not be longer than/],
      ['on', /throttle must be an object/],
    ];
    for (const [input, message] of cases) {
      const error = expectKeycardError(
        thrown(() => resolveThrottleOptions(input as never)),
        'invalid_configuration',
      );
      assert.match(error.message, message);
    }
  });
});

describe('addressBucket', () => {
  test('IPv4 is its own bucket; IPv4-mapped IPv6 counts as the IPv4 address', () => {
    assert.equal(addressBucket('192.0.2.1'), '192.0.2.1');
    assert.equal(addressBucket('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressBucket('::FFFF:c000:0201'), '192.0.2.1');
    assert.notEqual(addressBucket('192.0.2.2'), addressBucket('192.0.2.1'));
  });

  test('IPv6 counts by /64, however the address is written', () => {
    const bucket = addressBucket('2001:db8:1:2::1');
    assert.equal(bucket, '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:0db8:0001:0002:ffff:eeee:dddd:cccc'), bucket);
    assert.equal(addressBucket('2001:DB8:1:2:0:0:0:9'), bucket);
    assert.equal(addressBucket('2001:db8:1:2::1%eth0'), bucket);
    assert.notEqual(addressBucket('2001:db8:1:3::1'), bucket);
    assert.equal(addressBucket('::1'), '0:0:0:0::/64');
  });

  test('a missing address shares one bucket; junk is kept apart from real addresses', () => {
    assert.equal(addressBucket(null), 'unknown');
    assert.equal(addressBucket(''), 'unknown');
    assert.equal(addressBucket('not-an-ip'), 'other:not-an-ip');
  });
});

/** One attempt that fails: reserved, then recorded as a failure (or refused before any check). */
async function fail(throttle: Throttle, username: string, ip: string): Promise<ThrottleVerdict> {
  const reservation = await throttle.reserveLogin(username, ip);
  if (!reservation.ok) return reservation;
  return throttle.recordLoginFailure(reservation.ticket);
}

/** One attempt that succeeds (or is refused before any check). */
async function succeed(throttle: Throttle, username: string, ip: string): Promise<ThrottleVerdict> {
  const reservation = await throttle.reserveLogin(username, ip);
  if (!reservation.ok) return reservation;
  await throttle.recordLoginSuccess(reservation.ticket);
  return { ok: true };
}

/** Would an attempt be let through now? Reserves and gives the reservation back at once. */
async function allowed(throttle: Throttle, username: string, ip: string): Promise<ThrottleVerdict> {
  const reservation = await throttle.reserveLogin(username, ip);
  if (!reservation.ok) return reservation;
  await throttle.releaseLogin(reservation.ticket);
  return { ok: true };
}

describe('createThrottle: logins', () => {
  test('five failures are free; the sixth starts a wait that doubles from 1 s up to 5 min, never more', async () => {
    const { throttle, clock } = setup();
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(await fail(throttle, 'alice', '192.0.2.1'), { ok: true }, `failure ${i}`);
    }
    assert.deepEqual(await allowed(throttle, 'alice', '192.0.2.1'), { ok: true });
    const waits: number[] = [];
    for (let i = 6; i <= 16; i++) {
      const verdict = refused(await fail(throttle, 'alice', '192.0.2.1'));
      assert.equal(verdict.scope, 'account');
      waits.push(verdict.retryAfterSeconds);
      assert.deepEqual(refused(await allowed(throttle, 'alice', '192.0.2.1')), verdict);
      clock.advanceSeconds(verdict.retryAfterSeconds - 1);
      assert.equal((await allowed(throttle, 'alice', '192.0.2.1')).ok, false, 'still waiting');
      clock.advanceSeconds(1);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
  });

  test('a refused attempt is taken back: refusals change no count and lengthen no wait', async () => {
    const { throttle, clock, counting } = setup();
    for (let i = 0; i < 6; i++) await fail(throttle, 'alice', '192.0.2.1');
    for (let i = 0; i < 50; i++) assert.equal((await allowed(throttle, 'alice', '192.0.2.1')).ok, false);
    counting.reset();
    clock.advanceSeconds(1);
    // The seventh attempt meets the second delay (2 s), as if the 50 refusals had never happened.
    assert.deepEqual(refused(await fail(throttle, 'alice', '192.0.2.1')), {
      scope: 'account',
      retryAfterSeconds: 2,
    });
  });

  // guards: simultaneous attempts all got their password checked before any failure was counted (issue 12)
  test('a burst of simultaneous attempts on one account from one address gets 6 through, not 60', async () => {
    const { throttle } = setup();
    const reservations = await Promise.all(
      Array.from({ length: 60 }, () => throttle.reserveLogin('alice', '192.0.2.1')),
    );
    assert.equal(reservations.filter((reservation) => reservation.ok).length, 6);
    // Refused by the pair's wait, or (past the address's 20) by the address.
    for (const reservation of reservations) {
      if (!reservation.ok) assert.ok(reservation.scope === 'account' || reservation.scope === 'address');
    }
  });

  test('a burst spraying 60 accounts from one address gets 20 through', async () => {
    const { throttle } = setup();
    const reservations = await Promise.all(
      Array.from({ length: 60 }, (_, i) => throttle.reserveLogin(`user${i}`, '192.0.2.1')),
    );
    assert.equal(reservations.filter((reservation) => reservation.ok).length, 20);
    const refusals = reservations.filter((reservation) => !reservation.ok);
    assert.ok(refusals.every((reservation) => !reservation.ok && reservation.scope === 'address'));
    assert.deepEqual(
      await allowed(throttle, 'someone', '192.0.2.2'),
      { ok: true },
      'other addresses are not refused',
    );
  });

  test('attempts that succeed give their place back: the right password never uses up the budget', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 40; i++)
      assert.deepEqual(await succeed(throttle, `user${i % 3}`, '192.0.2.1'), { ok: true });
    for (let i = 1; i <= 5; i++) assert.deepEqual(await fail(throttle, 'alice', '192.0.2.1'), { ok: true });
  });

  test('the wait belongs to the pair: the same account from another address is not delayed', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 8; i++) await fail(throttle, 'alice', '192.0.2.1');
    assert.equal((await allowed(throttle, 'alice', '192.0.2.1')).ok, false);
    assert.deepEqual(await allowed(throttle, 'alice', '198.51.100.7'), { ok: true });
    assert.deepEqual(await allowed(throttle, 'bob', '192.0.2.1'), { ok: true });
  });

  test('usernames count in their canonical form', async () => {
    const { throttle } = setup();
    for (const name of ['Alice', 'ALICE', 'ａｌｉｃｅ', 'alice', 'aLiCe', 'Alice']) {
      await fail(throttle, name, '192.0.2.1');
    }
    assert.equal((await allowed(throttle, 'alice', '192.0.2.1')).ok, false, 'six failures of one account');
  });

  test('an address is refused for the rest of the window after 20 failures, whatever the accounts', async () => {
    const { throttle, clock } = setup();
    for (let i = 1; i < 20; i++) {
      assert.deepEqual(await fail(throttle, `user${i}`, '192.0.2.1'), { ok: true });
      clock.advanceSeconds(1);
    }
    const last = refused(await fail(throttle, 'user20', '192.0.2.1'));
    assert.equal(last.scope, 'address');
    assert.equal(last.retryAfterSeconds, 15 * 60 - 19, 'until the window that began 19 s ago ends');
    const other = refused(await allowed(throttle, 'someone-new', '192.0.2.1'));
    assert.equal(other.scope, 'address');
    assert.deepEqual(await allowed(throttle, 'someone-new', '192.0.2.2'), { ok: true });
    clock.advanceSeconds(last.retryAfterSeconds);
    assert.deepEqual(await allowed(throttle, 'someone-new', '192.0.2.1'), { ok: true });
  });

  test('when the address and the account both refuse, the longer wait is the answer', async () => {
    const { throttle } = setup();
    // 14 failures of other accounts, then alice's: her sixth is the address's twentieth.
    for (let i = 0; i < 14; i++) await fail(throttle, `user${i}`, '192.0.2.1');
    for (let i = 0; i < 5; i++) await fail(throttle, 'alice', '192.0.2.1');
    const sixth = refused(await fail(throttle, 'alice', '192.0.2.1'));
    assert.deepEqual(
      sixth,
      { scope: 'address', retryAfterSeconds: 900 },
      'the address’s 15 min beat the pair’s 1 s',
    );
  });

  test('a success resets that address’s count for the account', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await fail(throttle, 'alice', '192.0.2.1');
    await succeed(throttle, 'alice', '192.0.2.1');
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await fail(throttle, 'alice', '192.0.2.1'), { ok: true }, `failure ${i}`);
    }
    assert.equal((await fail(throttle, 'alice', '192.0.2.1')).ok, false, 'the sixth since');
  });

  test('an account under attack from many addresses: new addresses wait after one failure, known ones do not', async () => {
    const { throttle } = setup();
    // The real user signed in from home some time ago.
    await succeed(throttle, 'alice', '198.51.100.1');
    // A botnet: one failure from each of 20 addresses reaches the threshold, with no pair over its free five.
    for (let i = 1; i <= 20; i++) {
      assert.deepEqual(await fail(throttle, 'alice', `203.0.113.${i}`), { ok: true }, `bot ${i}`);
    }
    const first = refused(await fail(throttle, 'alice', '203.0.113.21'));
    assert.deepEqual(first, { scope: 'account', retryAfterSeconds: 1 });
    const waits: number[] = [];
    for (let i = 22; i <= 40; i++) {
      const verdict = refused(await fail(throttle, 'alice', `203.0.113.${i}`));
      waits.push(verdict.retryAfterSeconds);
    }
    assert.ok(
      waits.every((wait, i) => wait >= (waits[i - 1] ?? 0)),
      'the wait grows with the account’s count',
    );
    assert.equal(waits.at(-1), 300, 'and stops at 5 minutes');
    // A fresh address always gets its first attempt checked: the real user on a new network signs in.
    assert.deepEqual(await succeed(throttle, 'alice', '192.0.2.200'), { ok: true });
    // From home, a typo costs nothing: only home's own failures count there.
    assert.deepEqual(await fail(throttle, 'alice', '198.51.100.1'), { ok: true });
    assert.deepEqual(await allowed(throttle, 'alice', '198.51.100.1'), { ok: true });
    // Other accounts are not under attack.
    assert.deepEqual(await fail(throttle, 'bob', '192.0.2.201'), { ok: true });
  });

  test('usernames that are not canonical are still counted: non-strings, invalid strings, long ones', async () => {
    const { throttle } = setup();
    const names: unknown[] = [42, null, { user: 'x' }, 'has space', 'x'.repeat(300)];
    for (const [n, name] of names.entries()) {
      const ip = `192.0.2.${50 + n}`;
      for (let i = 0; i < 5; i++) assert.deepEqual(await fail(throttle, name as string, ip), { ok: true });
      assert.equal(
        (await fail(throttle, name as string, ip)).ok,
        false,
        `name ${n}: the sixth failure waits`,
      );
      assert.equal(
        (await allowed(throttle, name as string, ip)).ok,
        false,
        `name ${n}: and the next is refused`,
      );
    }
    // The 256-character cut: names that differ only after it are one account.
    const long = 'y'.repeat(256);
    for (let i = 0; i < 6; i++) await fail(throttle, `${long}${i}`, '198.51.100.60');
    assert.equal((await allowed(throttle, `${long}z`, '198.51.100.60')).ok, false);
  });
});

test('an address stays known for 30 days after its latest sign-in, then is treated as new', async () => {
  const { throttle, clock } = setup();
  const day = 86_400;
  const underAttack = async () => {
    for (let i = 1; i <= 21; i++) await fail(throttle, 'alice', `203.0.113.${i}`);
  };
  await succeed(throttle, 'alice', '198.51.100.1');
  clock.advanceSeconds(29 * day);
  await succeed(throttle, 'alice', '198.51.100.1');
  clock.advanceSeconds(6 * day); // 35 days after the first sign-in, 6 after the latest
  await underAttack();
  assert.deepEqual(await fail(throttle, 'alice', '198.51.100.1'), { ok: true }, 'still known');
  clock.advanceSeconds(25 * day); // 31 days after the latest sign-in
  await underAttack();
  assert.equal((await fail(throttle, 'alice', '198.51.100.1')).ok, false, 'no longer known');
});

describe('createThrottle: refresh', () => {
  test('30 failed refreshes from one address → refused until the window ends; other addresses are not', async () => {
    const { throttle, clock } = setup();
    for (let i = 1; i < 30; i++)
      assert.deepEqual(await throttle.recordRefreshFailure('192.0.2.1'), { ok: true });
    assert.deepEqual(await throttle.checkRefresh('192.0.2.1'), { ok: true });
    const last = refused(await throttle.recordRefreshFailure('192.0.2.1'));
    assert.deepEqual(last, { scope: 'address', retryAfterSeconds: 900 });
    assert.equal((await throttle.checkRefresh('192.0.2.1')).ok, false);
    assert.deepEqual(await throttle.checkRefresh('192.0.2.2'), { ok: true });
    assert.deepEqual(await allowed(throttle, 'alice', '192.0.2.1'), { ok: true }, 'logins count apart');
    clock.advanceSeconds(900);
    assert.deepEqual(await throttle.checkRefresh('192.0.2.1'), { ok: true });
  });
});

describe('signIn with throttling', () => {
  const PASSWORD = 'tulip-Quartz-7781-harbor';

  async function harness(throttle?: false) {
    const clock = new ManualClock();
    const counting = countingStore(new MemoryStore({ clock }));
    const events: AuthEvent[] = [];
    const keycard = createKeycard({
      store: counting.store,
      clock,
      environment: 'development',
      passwords: { argon2: FAST_ARGON2 },
      onEvent: (event) => events.push(event),
      ...(throttle === false ? { throttle } : {}),
    });
    await keycard.users.create({ username: 'alice', password: PASSWORD });
    let hashes = 0;
    const { verify, verifyDummy } = keycard.passwords;
    keycard.passwords.verify = (...args) => {
      hashes++;
      return verify(...args);
    };
    keycard.passwords.verifyDummy = (...args) => {
      hashes++;
      return verifyDummy(...args);
    };
    const signIn = async (username: string, password: string, ip = '192.0.2.1') =>
      outcome(
        await keycard.signIn(
          keycard.createContext(
            requestInfo({ method: 'POST', ip, headers: { host: 'app.example', 'user-agent': 'Agent/1' } }),
            () => {},
          ),
          { username, password },
        ),
      );
    return { keycard, clock, counting, events, signIn, hashes: () => hashes };
  }

  async function failSix(
    signIn: (u: string, p: string) => Promise<Record<string, unknown>>,
    username: string,
  ) {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await signIn(username, `wrong-${i}`));
    return results;
  }

  test('the sixth failure answers too_many_requests; then even the right password is refused unhashed', async () => {
    const h = await harness();
    const results = await failSix(h.signIn, 'alice');
    assert.deepEqual(
      results.map((result) => ('reason' in result ? result.reason : 'ok')),
      [...Array(5).fill('invalid_credentials'), 'too_many_requests'],
    );
    assert.deepEqual(results[5], { ok: false, reason: 'too_many_requests', retryAfterSeconds: 1 });
    const hashesBefore = h.hashes();
    h.counting.reset();
    const right = await h.signIn('alice', PASSWORD);
    assert.deepEqual(right, { ok: false, reason: 'too_many_requests', retryAfterSeconds: 1 });
    assert.equal(h.hashes(), hashesBefore, 'no password was hashed');
    assert.equal(h.counting.counts.get('getUserByUsername') ?? 0, 0, 'the user was not even read');
    const event = h.events.at(-1);
    assert.deepEqual(event, {
      type: 'throttled',
      action: 'login',
      scope: 'account',
      username: 'alice',
      retryAfterSeconds: 1,
      ip: '192.0.2.1',
      userAgent: 'Agent/1',
    });
    h.clock.advanceSeconds(1);
    const after = await h.signIn('alice', PASSWORD);
    assert.equal(after.ok, true, 'allowed again once the wait is over');
  });

  test('a successful sign-in resets this address’s count for the account', async () => {
    const h = await harness();
    for (let i = 0; i < 5; i++) await h.signIn('alice', `wrong-${i}`);
    assert.equal((await h.signIn('alice', PASSWORD)).ok, true);
    const after = [];
    for (let i = 0; i < 6; i++) after.push(await h.signIn('alice', `again-${i}`));
    assert.deepEqual(
      after.map((result) => ('reason' in result ? result.reason : 'ok')),
      [...Array(5).fill('invalid_credentials'), 'too_many_requests'],
    );
  });

  test('an unknown username is throttled exactly like a real one', async () => {
    const h = await harness();
    const real = await failSix(h.signIn, 'alice');
    const unknown = await failSix(h.signIn, 'mallory');
    assert.deepEqual(unknown, real);
    assert.deepEqual(await h.signIn('mallory', 'again'), await h.signIn('alice', 'again'));
  });

  test('a blocked account with the right password is not counted as a failure', async () => {
    const h = await harness();
    const user = await h.keycard.users.findByUsername('alice');
    assert.ok(user);
    await h.keycard.users.block(user.id);
    for (let i = 0; i < 7; i++)
      assert.deepEqual(await h.signIn('alice', PASSWORD), { ok: false, reason: 'account_blocked' });
  });

  test('throttle: false never refuses', async () => {
    const h = await harness(false);
    assert.equal(h.keycard.throttle, null);
    for (let i = 0; i < 25; i++)
      assert.deepEqual(await h.signIn('alice', `wrong-${i}`), { ok: false, reason: 'invalid_credentials' });
    assert.equal((await h.signIn('alice', PASSWORD)).ok, true);
  });
});

describe('createThrottle: which refusal and Retry-After win', () => {
  test('when the account’s wait is the longer one, the account refusal and its Retry-After are the answer', async () => {
    const { throttle, clock } = setup();
    // Alice's pair climbs to a 5-minute wait while the address stays under its 20.
    for (let i = 0; i < 5; i++) await fail(throttle, 'alice', '192.0.2.1');
    const waits: number[] = [];
    for (let k = 0; k < 9; k++) {
      const verdict = refused(await fail(throttle, 'alice', '192.0.2.1'));
      assert.equal(verdict.scope, 'account');
      waits.push(verdict.retryAfterSeconds);
      clock.advanceSeconds(verdict.retryAfterSeconds);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
    // 14 failures so far; five more accounts bring the address to 19, then alice's next is its 20th.
    clock.advanceSeconds(300);
    for (let i = 0; i < 5; i++) await fail(throttle, `user${i}`, '192.0.2.1');
    const both = refused(await fail(throttle, 'alice', '192.0.2.1'));
    // The address window began at the first failure, (1+2+…+256) + 300 = 811 s ago: 89 s are left of it,
    // while the pair's wait is 300 s.
    assert.deepEqual(both, { scope: 'account', retryAfterSeconds: 300 });
  });

  test('a refused attempt’s Retry-After counts down with the clock, rounded up, never below 1', async () => {
    const { throttle, clock } = setup();
    for (let i = 0; i < 20; i++) await fail(throttle, `user${i}`, '192.0.2.1');
    assert.deepEqual(refused(await allowed(throttle, 'x', '192.0.2.1')), {
      scope: 'address',
      retryAfterSeconds: 900,
    });
    clock.advance(100_500);
    assert.deepEqual(refused(await allowed(throttle, 'x', '192.0.2.1')), {
      scope: 'address',
      retryAfterSeconds: 800,
    });
    clock.advance(799_400);
    assert.deepEqual(refused(await allowed(throttle, 'x', '192.0.2.1')), {
      scope: 'address',
      retryAfterSeconds: 1,
    });
    clock.advance(100);
    assert.deepEqual(await allowed(throttle, 'x', '192.0.2.1'), { ok: true });
  });

  test('refresh refusals carry the address window’s Retry-After, in both checkRefresh and recordRefreshFailure', async () => {
    const { throttle, clock } = setup();
    for (let i = 1; i <= 29; i++) await throttle.recordRefreshFailure('192.0.2.1');
    clock.advanceSeconds(60);
    assert.deepEqual(await throttle.checkRefresh('192.0.2.1'), { ok: true }, '29 are allowed');
    assert.deepEqual(refused(await throttle.recordRefreshFailure('192.0.2.1')), {
      scope: 'address',
      retryAfterSeconds: 840,
    });
    clock.advance(100_500);
    assert.deepEqual(refused(await throttle.checkRefresh('192.0.2.1')), {
      scope: 'address',
      retryAfterSeconds: 740,
    });
    assert.deepEqual(refused(await throttle.recordRefreshFailure('192.0.2.1')), {
      scope: 'address',
      retryAfterSeconds: 740,
    });
  });
});

describe('createThrottle: usernames that fail normalisation', () => {
  test('every non-string username is one account: failures of 42 and null add up', async () => {
    const { throttle } = setup();
    for (const name of [42, null, { a: 1 }, undefined, ['alice']])
      await fail(throttle, name as never, '192.0.2.9');
    assert.equal((await fail(throttle, true as never, '192.0.2.9')).ok, false, 'the sixth non-string waits');
    assert.deepEqual(await allowed(throttle, 'alice', '192.0.2.9'), { ok: true }, 'not alice’s account');
  });

  test('invalid strings count as sent: distinct ones are distinct accounts, none is merged with a valid one', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 6; i++) await fail(throttle, 'has space', '192.0.2.9');
    assert.equal((await allowed(throttle, 'has space', '192.0.2.9')).ok, false);
    assert.deepEqual(await allowed(throttle, 'has  space', '192.0.2.9'), { ok: true });
    assert.deepEqual(await allowed(throttle, 'hasspace', '192.0.2.9'), { ok: true });
    assert.deepEqual(await allowed(throttle, '', '192.0.2.9'), { ok: true });
    assert.deepEqual(await allowed(throttle, 42 as never, '192.0.2.9'), { ok: true });
  });

  test('the 256-character cut keeps names that differ within it apart', async () => {
    const { throttle } = setup();
    const long = 'y'.repeat(255);
    for (let i = 0; i < 6; i++) await fail(throttle, `${long}a-tail-${i}`, '198.51.100.61');
    assert.equal((await allowed(throttle, `${long}a`, '198.51.100.61')).ok, false, 'same first 256');
    assert.deepEqual(await allowed(throttle, `${long}b-tail`, '198.51.100.61'), { ok: true });
    assert.deepEqual(await allowed(throttle, long, '198.51.100.61'), { ok: true }, '255 characters');
  });
});

describe('createThrottle: edges the mutation run found', () => {
  test('a tie between the address’s and the account’s Retry-After is reported as the account’s', async () => {
    const { throttle, clock } = setup();
    for (let i = 0; i < 5; i++) await fail(throttle, 'alice', '192.0.2.1');
    for (let k = 0; k < 9; k++)
      clock.advanceSeconds(refused(await fail(throttle, 'alice', '192.0.2.1')).retryAfterSeconds);
    // 511 s since the address window began; 89 more make its remaining time 300 s, the pair's next wait.
    clock.advanceSeconds(89);
    for (let i = 0; i < 5; i++) await fail(throttle, `user${i}`, '192.0.2.1');
    assert.deepEqual(refused(await fail(throttle, 'alice', '192.0.2.1')), {
      scope: 'account',
      retryAfterSeconds: 300,
    });
  });

  test('attempts refused for the address are taken back from the account’s count too', async () => {
    const { throttle, clock } = setup();
    for (let i = 0; i < 3; i++) await fail(throttle, 'alice', '192.0.2.1');
    for (let i = 0; i < 17; i++) await fail(throttle, `user${i}`, '192.0.2.1');
    for (let i = 0; i < 10; i++)
      assert.equal(refused(await allowed(throttle, 'alice', '192.0.2.1')).scope, 'address');
    clock.advanceSeconds(900); // the address window is over; the account's (1 h) is not
    assert.deepEqual(await fail(throttle, 'alice', '192.0.2.1'), { ok: true }, 'the 4th failure');
    assert.deepEqual(await fail(throttle, 'alice', '192.0.2.1'), { ok: true }, 'the 5th failure');
    assert.deepEqual(refused(await fail(throttle, 'alice', '192.0.2.1')), {
      scope: 'account',
      retryAfterSeconds: 1,
    });
  });

  test('a wait that ended while the password was checked is no refusal', async () => {
    const { throttle, clock } = setup();
    for (let i = 0; i < 5; i++) await fail(throttle, 'alice', '192.0.2.1');
    const sixth = await throttle.reserveLogin('alice', '192.0.2.1');
    assert.ok(sixth.ok);
    assert.equal(sixth.ticket.waitEndsAt, clock.now() + 1000);
    clock.advance(1000);
    assert.deepEqual(await throttle.recordLoginFailure(sixth.ticket), { ok: true });
  });

  test('a free attempt touches no wait counter: three increments and one read', async () => {
    const { throttle, counting } = setup();
    counting.reset();
    const reservation = await throttle.reserveLogin('alice', '192.0.2.1');
    assert.ok(reservation.ok);
    assert.equal(reservation.ticket.waitEndsAt, null);
    assert.deepEqual(Object.fromEntries(counting.counts), { incrementCounter: 3, readCounter: 1 });
  });

  test('counter keys hold SHA-256 digests, never the username or the address', async () => {
    const clock = new ManualClock();
    const keys: string[] = [];
    const store = new MemoryStore({ clock });
    const recording = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (typeof args[0] === 'string') keys.push(args[0]);
          return value.apply(target, args);
        };
      },
    });
    const throttle = createThrottle(recording, POLICY, clock);
    for (let i = 0; i < 7; i++) await fail(throttle, 'Secret-Password', '192.0.2.1');
    await succeed(throttle, 'Secret-Password', '192.0.2.1');
    await throttle.recordRefreshFailure('192.0.2.1');
    assert.ok(keys.length > 0);
    for (const key of new Set(keys)) {
      assert.match(key, /^(login:(address|pair|wait|account|known)|refresh:address):[A-Za-z0-9_-]{43}$/, key);
    }
  });
});
