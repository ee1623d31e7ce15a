/**
 * The Redis store's revocations beyond the conformance suite: what the keys look like (one slot, TTLs,
 * a sorted set trimmed on write), one round trip per check, and above all the feed's honesty about its
 * own gaps — a subscriber connection that is killed, a Redis that dies, a Redis that hangs without
 * closing anything — each reported `down` at once and `up` again only once resubscribed, with every
 * revocation made meanwhile in the reload that follows.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { KeycardError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/random-tokens.js';
import type { RevocationRecord, RevocationSubscription } from '../../src/core/store.js';
import { openStoreURL, RedisStore } from '../../src/stores/redis/index.js';
import { redisKeys } from '../../src/stores/redis/keys.js';
import { ManualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import {
  deleteKeysWithPrefix,
  type PrivateRedis,
  recordCommands,
  redisBinariesSkipReason,
  startPrivateRedis,
} from '../helpers/redis-servers.js';
import { REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

const HOUR = 3_600_000;

const redisSkip = await redisSkipReason();
const binariesSkip = await redisBinariesSkipReason();

const unavailable = (error: unknown): boolean =>
  error instanceof KeycardError && error.code === 'store_unavailable';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A listener that writes down everything it is told, in order. */
function recorder() {
  const events: string[] = [];
  const received: RevocationRecord[] = [];
  return {
    events,
    received,
    listener: {
      revoked(record: RevocationRecord) {
        received.push(record);
        events.push(`revoked ${record.id}`);
      },
      status(state: 'up' | 'down') {
        events.push(state);
      },
    },
    states: () => events.filter((event) => event === 'up' || event === 'down'),
  };
}

/** The ids of the feed connections of a store with this prefix (they are named after it). */
async function feedClientIds(admin: Redis, prefix: string): Promise<string[]> {
  const list = (await admin.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=keycard-revocations:${prefix} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] as string);
}

const loginRevocation = (
  clock: ManualClock,
  overrides: Partial<RevocationRecord> = {},
): RevocationRecord => ({
  kind: 'login',
  id: generateId(),
  at: clock.now(),
  expiresAt: clock.now() + HOUR,
  ...overrides,
});

describe('redis revocations on the shared server', { skip: redisSkip }, () => {
  const clock = new ManualClock();
  const prefix = uniqueName('kctest');
  const keys = redisKeys(prefix);
  let store: RedisStore;
  let other: RedisStore;
  let admin: Redis;
  const errors: Error[] = [];

  before(async () => {
    store = new RedisStore({ url: REDIS_URL, prefix, clock, onError: (error) => errors.push(error) });
    other = new RedisStore({ url: REDIS_URL, prefix, clock });
    admin = new Redis(REDIS_URL);
    await Promise.all([store.connect(), other.connect()]);
  });
  after(async () => {
    await deleteKeysWithPrefix(admin, prefix);
    await store?.close();
    await other?.close();
    admin?.disconnect();
  });
  beforeEach(async () => {
    await deleteKeysWithPrefix(admin, prefix);
    // The previous test's feed connections are closed; Redis forgets them a moment later.
    await eventually(
      async () => (await feedClientIds(admin, prefix)).length === 0,
      'no feed connection left',
    );
    errors.length = 0;
  });

  async function assertTTL(key: string, expected: number): Promise<void> {
    const ttl = await admin.pttl(key);
    assert.ok(ttl <= expected && ttl > expected - 1000, `${key}: PTTL ${ttl}, expected about ${expected}`);
  }

  test('isRevoked is exactly one Redis command (MGET), revoked or not', async () => {
    const client = new Redis(REDIS_URL);
    const counted = new RedisStore({ client, prefix, clock });
    const sent = recordCommands(client);
    try {
      const login = loginRevocation(clock);
      await counted.addRevocation(login);
      await counted.addRevocation({ kind: 'user', id: 'u1', at: clock.now(), expiresAt: clock.now() + HOUR });
      const queries = [
        { loginId: login.id, userId: 'u2', issuedAt: clock.now() },
        { loginId: generateId(), userId: 'u1', issuedAt: clock.now() - 1 },
        { loginId: generateId(), userId: 'u2', issuedAt: clock.now() },
      ];
      const expected = [true, true, false];
      for (const [i, query] of queries.entries()) {
        sent.length = 0;
        assert.equal(await counted.isRevoked(query, clock.now()), expected[i]);
        assert.deepEqual(sent, ['mget'], `query ${i}`);
      }
    } finally {
      await counted.close();
      client.disconnect();
    }
  });

  test('every revocation key has a TTL at its expiry; a user’s key keeps the latest cut-off and expiry', async () => {
    const login = loginRevocation(clock);
    await store.addRevocation(login);
    await assertTTL(keys.loginRevocation(login.id), HOUR);
    await assertTTL(keys.revocations(), HOUR);

    const now = clock.now();
    await store.addRevocation({ kind: 'user', id: 'u1', at: now, expiresAt: now + HOUR });
    // An older cut-off that lives longer: the newer cut-off stays, the longer life is taken.
    await store.addRevocation({ kind: 'user', id: 'u1', at: now - 60_000, expiresAt: now + 2 * HOUR });
    assert.equal(await admin.get(keys.userRevocation('u1')), `${now} ${now + 2 * HOUR}`);
    await assertTTL(keys.userRevocation('u1'), 2 * HOUR);
    await assertTTL(keys.revocations(), 2 * HOUR);
    assert.equal(await store.isRevoked({ loginId: 'l', userId: 'u1', issuedAt: now - 1 }, now), true);
    assert.equal(await store.isRevoked({ loginId: 'l', userId: 'u1', issuedAt: now + 1 }, now), false);

    // The same record twice is one member.
    await store.addRevocation(login);
    assert.equal(await admin.zcard(keys.revocations()), 3);
  });

  test('the sorted set does not grow without bound: expired members are dropped on the next write', async () => {
    const start = clock.now();
    for (let i = 0; i < 50; i++)
      await store.addRevocation(loginRevocation(clock, { expiresAt: start + 1000 }));
    const live = loginRevocation(clock, { expiresAt: start + HOUR });
    await store.addRevocation(live);
    assert.equal(await admin.zcard(keys.revocations()), 51);
    clock.advance(1000);
    const next = loginRevocation(clock);
    await store.addRevocation(next);
    assert.equal(await admin.zcard(keys.revocations()), 2, 'only the live ones are left');
    assert.deepEqual(
      (await store.listRevocations(clock.now())).map((record) => record.id).sort(),
      [live.id, next.id].sort(),
    );
  });

  test('a record already past its expiry is neither stored nor published', async () => {
    const { listener, received } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    try {
      await store.addRevocation(loginRevocation(clock, { expiresAt: clock.now() }));
      assert.equal(await admin.exists(keys.revocations()), 0);
      const marker = loginRevocation(clock);
      await other.addRevocation(marker);
      await eventually(() => received.length > 0, 'the marker');
      assert.deepEqual(received, [marker]);
    } finally {
      await subscription.close();
    }
  });

  test('a subscriber that reloads on hearing of a revocation finds it stored (store first, then publish)', async () => {
    const found: boolean[] = [];
    const pending: Promise<void>[] = [];
    const subscription = await store.subscribeRevocations({
      revoked: (record) => {
        pending.push(
          store.listRevocations(clock.now()).then((all) => {
            found.push(all.some((r) => r.id === record.id));
          }),
        );
      },
      status: () => {},
    });
    try {
      for (let i = 0; i < 20; i++) await other.addRevocation(loginRevocation(clock));
      await eventually(() => pending.length === 20, 'twenty deliveries');
      await Promise.all(pending);
      assert.deepEqual(found, Array(20).fill(true));
    } finally {
      await subscription.close();
    }
  });

  test('malformed messages on the channel are ignored (and reported), never delivered or fatal', async () => {
    const { listener, received } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    try {
      const channel = keys.revocationChannel();
      for (const junk of [
        'not json',
        '{"kind":"admin","id":"x","at":1,"expiresAt":2}',
        '{"kind":"login","id":"","at":1,"expiresAt":2}',
        '{"kind":"user","id":"x","at":"1","expiresAt":2}',
        '{"kind":"user","id":"x","at":1.5,"expiresAt":2}',
        'null',
      ]) {
        await admin.publish(channel, junk);
      }
      const good = loginRevocation(clock);
      await other.addRevocation(good);
      await eventually(() => received.length > 0, 'the good record');
      assert.deepEqual(received, [good]);
      assert.equal(errors.filter((error) => /malformed/.test(error.message)).length, 6);
    } finally {
      await subscription.close();
    }
  });

  test('a listener that throws does not break the feed', async () => {
    const received: string[] = [];
    const subscription = await store.subscribeRevocations({
      revoked: (record) => {
        received.push(record.id);
        throw new Error('listener bug');
      },
      status: () => {},
    });
    try {
      const first = loginRevocation(clock);
      const second = loginRevocation(clock);
      await other.addRevocation(first);
      await other.addRevocation(second);
      await eventually(() => received.length === 2, 'both records');
      assert.deepEqual(received, [first.id, second.id]);
      assert.ok(
        errors.some((error) => error.message === 'listener bug'),
        'reported to onError',
      );
    } finally {
      await subscription.close();
    }
  });

  // guards: a feed connection lost without the listener being told would let revoked tokens through
  test('a killed subscriber connection is reported down at once, then up again once resubscribed', async () => {
    const { listener, events, received, states } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    try {
      assert.deepEqual(states(), ['up'], 'up before subscribeRevocations resolves');
      const [id] = await feedClientIds(admin, prefix);
      assert.ok(id, 'the feed connection is named after the prefix');
      await admin.client('KILL', 'ID', id);
      await eventually(() => states().length === 3, 'down, then up again');
      assert.deepEqual(states(), ['up', 'down', 'up']);
      const [again] = await feedClientIds(admin, prefix);
      assert.ok(again && again !== id, 'a new connection');
      // And it delivers again.
      const record = loginRevocation(clock);
      await other.addRevocation(record);
      await eventually(() => received.some((r) => r.id === record.id), 'delivery after resubscribing');
      assert.equal(events.at(-1), `revoked ${record.id}`);
    } finally {
      await subscription.close();
    }
  });

  test('close ends the subscriber connection; closing the store ends every feed', async () => {
    const subscription = await store.subscribeRevocations(recorder().listener);
    assert.equal((await feedClientIds(admin, prefix)).length, 1);
    await subscription.close();
    await eventually(async () => (await feedClientIds(admin, prefix)).length === 0, 'the connection to go');

    const another = new RedisStore({ url: REDIS_URL, prefix, clock });
    const { listener, events } = recorder();
    await another.subscribeRevocations(listener);
    await another.subscribeRevocations(recorder().listener);
    assert.equal((await feedClientIds(admin, prefix)).length, 2);
    await another.close();
    await eventually(async () => (await feedClientIds(admin, prefix)).length === 0, 'both connections to go');
    assert.deepEqual(events, ['up'], 'closing says nothing more to the listener');
    await assert.rejects(another.subscribeRevocations(recorder().listener), unavailable);
  });

  test('refuses a record it cannot keep', async () => {
    for (const bad of [
      { kind: 'session', id: 'x', at: 1, expiresAt: clock.now() + HOUR },
      { kind: 'login', id: '', at: 1, expiresAt: clock.now() + HOUR },
      { kind: 'login', id: 'x', at: Number.NaN, expiresAt: clock.now() + HOUR },
      { kind: 'user', id: 'x', at: 1, expiresAt: clock.now() + 0.5 },
    ]) {
      await assert.rejects(store.addRevocation(bad as RevocationRecord), TypeError, JSON.stringify(bad));
    }
  });
});

describe('redis revocation feed through outages (private redis-server)', { skip: binariesSkip }, () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await startPrivateRedis({ persistent: true });
    admin = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    admin.on('error', () => undefined);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    admin?.disconnect();
    await redis?.stop();
  });

  const url = (prefix: string, options = '') =>
    `redis://127.0.0.1:${redis.port}/?prefix=${prefix}&reconnectMaxDelayMs=100&commandTimeoutMs=2000${options}`;

  // guards: a revocation published while the feed was away must reach the listener through its reload
  test('a revocation made while the feed is cut is in the reload after up, though the channel lost it', async () => {
    const clock = new ManualClock();
    const prefix = uniqueName('kctest');
    const errors: Error[] = [];
    const store = await openStoreURL(url(prefix), { clock });
    const feedStore = new RedisStore({ url: url(prefix), clock, onError: (error) => errors.push(error) });
    const events: string[] = [];
    const reloads: Promise<RevocationRecord[]>[] = [];
    let subscription: RevocationSubscription | undefined;
    try {
      subscription = await feedStore.subscribeRevocations({
        revoked: (record) => events.push(`revoked ${record.id}`),
        status: (state) => {
          events.push(state);
          // What the hybrid strategy's listener does: reload in full on every up.
          if (state === 'up') reloads.push(feedStore.listRevocations(clock.now()));
        },
      });
      assert.deepEqual(events, ['up']);
      // Cut the feed and keep it from resubscribing: SUBSCRIBE is refused until the ACL allows it again.
      await admin.call('ACL', 'SETUSER', 'default', '-subscribe');
      await admin.client('KILL', 'TYPE', 'pubsub');
      await eventually(() => events.includes('down'), 'down');

      const gap = loginRevocation(clock);
      await store.addRevocation(gap); // from another instance, while nobody listens
      events.push(`added ${gap.id}`);
      await sleep(500); // several refused resubscriptions
      assert.deepEqual(events, ['up', 'down', `added ${gap.id}`], 'still down, and the message was lost');
      assert.ok(
        errors.some((error) => /NOPERM/.test(error.message)),
        'the refusals are reported',
      );

      await admin.call('ACL', 'SETUSER', 'default', '+subscribe');
      await eventually(() => events.filter((event) => event === 'up').length === 2, 'up again');
      assert.deepEqual(events, ['up', 'down', `added ${gap.id}`, 'up'], 'down before up; nothing delivered');
      const reloaded = await reloads[1];
      assert.ok(
        reloaded?.some((record) => record.id === gap.id),
        'the gap’s revocation is in the reload',
      );
      assert.deepEqual(unhandled, []);
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '+subscribe');
      await subscription?.close();
      await feedStore.close();
      await store.close();
    }
  });

  test('redis killed: down, operations reject with store_unavailable; restarted: up, state kept', async () => {
    const clock = new ManualClock();
    const prefix = uniqueName('kctest');
    const store = await openStoreURL(url(prefix), { clock });
    const { listener, events, received, states } = recorder();
    let subscription: RevocationSubscription | undefined;
    let late: RevocationSubscription | undefined;
    try {
      subscription = await store.subscribeRevocations(listener);
      const before = loginRevocation(clock);
      await store.addRevocation(before);
      await eventually(() => received.length === 1, 'the first record');

      await redis.kill();
      await eventually(() => states().includes('down'), 'down');
      const query = { loginId: before.id, userId: 'u', issuedAt: clock.now() };
      // The data connection notices on its own schedule; from then on, every call fails at once.
      await eventually(
        () => store.isRevoked(query, clock.now()).then(() => false, unavailable),
        'isRevoked to fail',
      );
      await assert.rejects(store.isRevoked(query, clock.now()), unavailable, 'isRevoked');
      await assert.rejects(store.addRevocation(loginRevocation(clock)), unavailable, 'addRevocation');
      await assert.rejects(store.listRevocations(clock.now()), unavailable, 'listRevocations');
      // A subscription made during the outage resolves, saying down; it comes up by itself later.
      const lateEvents = recorder();
      late = await store.subscribeRevocations(lateEvents.listener);
      assert.deepEqual(lateEvents.states(), ['down']);

      await redis.restart();
      await eventually(() => states().length === 3, 'up again');
      assert.deepEqual(states(), ['up', 'down', 'up']);
      await eventually(() => lateEvents.states().length === 2, 'the late subscription up');
      assert.deepEqual(lateEvents.states(), ['down', 'up']);
      // The data connection reconnects on its own schedule, independent of the feed's.
      await eventually(
        () =>
          store.ping().then(
            () => true,
            () => false,
          ),
        'the store to answer again',
      );
      assert.equal(await store.isRevoked(query, clock.now()), true, 'kept across the restart (AOF)');
      const after = loginRevocation(clock);
      await store.addRevocation(after);
      await eventually(() => received.some((r) => r.id === after.id), 'delivery after the restart');
      await eventually(() => lateEvents.received.some((r) => r.id === after.id), 'to the late one too');
      assert.equal(events.indexOf('down') < events.lastIndexOf('up'), true);
      assert.deepEqual(unhandled, []);
    } finally {
      await late?.close();
      await subscription?.close();
      await store.close();
    }
  });

  test('a server that stops answering (no close, no reset) is reported down within two heartbeats', async () => {
    const clock = new ManualClock();
    const prefix = uniqueName('kctest');
    const errors: Error[] = [];
    const store = new RedisStore({
      url: url(prefix, '&connectTimeoutMs=300'),
      clock,
      revocationHeartbeatMs: 100,
      onError: (error) => errors.push(error),
    });
    const { listener, states } = recorder();
    let subscription: RevocationSubscription | undefined;
    try {
      await store.connect();
      subscription = await store.subscribeRevocations(listener);
      assert.deepEqual(states(), ['up']);
      redis.pause();
      const paused = Date.now();
      await eventually(() => states().includes('down'), 'down', { timeoutMs: 5000 });
      const noticed = Date.now() - paused;
      assert.ok(noticed < 1000, `noticed after ${noticed} ms`);
      assert.ok(
        errors.some((error) => /PING/.test(error.message)),
        'the missed heartbeat is reported',
      );
      await sleep(300);
      assert.deepEqual(states(), ['up', 'down'], 'no up while the server hangs');
      redis.resume();
      await eventually(() => states().length === 3, 'up after the server answers again');
      assert.deepEqual(states(), ['up', 'down', 'up']);
      assert.deepEqual(unhandled, []);
    } finally {
      redis.resume();
      await subscription?.close();
      await store.close();
    }
  });
});
