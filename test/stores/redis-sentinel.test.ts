/**
 * The Redis store through Sentinel, and `durability: 'replicated'`: the `redis+sentinel://` URL form, then
 * a private primary, replica and Sentinel (all `redis-server`, started by this file on spare loopback
 * ports) — revocations and blocks that no replica acknowledges fail closed, and one that was acknowledged
 * is still there on the replica promoted after the primary is killed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/random-tokens.js';
import type { UserRecord } from '../../src/core/store.js';
import { openStore } from '../../src/stores/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { parseRedisURL } from '../../src/stores/redis/url.js';
import { sessionFixture } from '../conformance/fixtures.js';
import { ManualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import {
  type PrivateSentinelGroup,
  redisBinariesSkipReason,
  sparePort,
  startPrivateSentinel,
} from '../helpers/redis-servers.js';
import { uniqueName } from '../helpers/services.js';

const HOUR = 3_600_000;

const skip = await redisBinariesSkipReason();

const unavailable = (error: unknown): boolean =>
  error instanceof KeycardError && error.code === 'store_unavailable';

function userFixture(clock: ManualClock, username: string): UserRecord {
  return {
    id: generateId(),
    username,
    skeleton: username,
    passwordHash: null,
    role: 'user',
    blocked: false,
    createdAt: clock.now(),
    updatedAt: clock.now(),
  };
}

describe('redis+sentinel:// store URLs', () => {
  test('names the Sentinels (default port 26379), the master group, a database, and the Sentinels’ credentials', () => {
    const parsed = parseRedisURL(
      'redis+sentinel://app:p%40ss@10.0.0.1:26380,10.0.0.2/kcprimary/2?sentinelPassword=s%3Acret&sentinelUsername=watch&prefix=kc2',
    );
    assert.deepEqual(parsed.connection, {
      nodes: [
        { host: '10.0.0.1', port: 26380 },
        { host: '10.0.0.2', port: 26379 },
      ],
      cluster: false,
      tls: false,
      username: 'app',
      password: 'p@ss',
      db: 2,
      sentinel: { name: 'kcprimary', username: 'watch', password: 's:cret' },
    });
    assert.equal(parsed.prefix, 'kc2');
    assert.deepEqual(parseRedisURL('redis+sentinel://h/mymaster').connection.sentinel, { name: 'mymaster' });
  });

  test('durability and replicationTimeoutMs are URL options of every form', () => {
    const parsed = parseRedisURL('redis+sentinel://h/m?durability=replicated&replicationTimeoutMs=250');
    assert.equal(parsed.durability, 'replicated');
    assert.equal(parsed.replicationTimeoutMs, 250);
    assert.equal(parseRedisURL('redis://h?durability=primary').durability, 'primary');
    assert.equal(parseRedisURL('redis+cluster://a:1,b:2?durability=replicated').durability, 'replicated');
    assert.equal(parseRedisURL('redis://h').durability, undefined);
  });

  test('refuses a missing master name, unknown durabilities, Sentinel options elsewhere, and TLS (not yet)', () => {
    const refusals: [string, RegExp][] = [
      ['redis+sentinel://h:26379', /names the master group/],
      ['redis+sentinel://h:26379/', /names the master group/],
      ['redis+sentinel://h/m/x', /names the master group/],
      ['redis://h?durability=sync', /durability must be one of primary, replicated/],
      ['redis://h?replicationTimeoutMs=soon', /replicationTimeoutMs must be a whole number/],
      ['redis://h?sentinelPassword=x', /only with redis\+sentinel/],
      ['redis+sentinel://h/m?tls=true', /TLS through Sentinel/],
      ['redis://a:1,b:2', /redis\+cluster:\/\/ or redis\+sentinel:\/\//],
    ];
    for (const [url, message] of refusals) {
      assert.throws(
        () => parseRedisURL(url),
        (error) => error instanceof KeycardError && message.test(error.message),
        url,
      );
    }
    assert.throws(
      () => new RedisStore({ url: 'redis://127.0.0.1:1', replicationTimeoutMs: 0 }),
      /replicationTimeoutMs must be a positive/,
    );
    assert.throws(
      () => new RedisStore({ url: 'redis://127.0.0.1:1', durability: 'eventual' as never }),
      /durability must be one of/,
    );
  });

  test('a password in a redis+sentinel:// URL is never echoed by its errors', () => {
    for (const url of [
      'redis+sentinel://u:hunter2@h/m?sentinelPassword=hunter3&durability=never',
      'redis+sentinel://u:hunter2@h:99999/m?sentinelPassword=hunter3',
    ]) {
      assert.throws(
        () => parseRedisURL(url),
        (error) => error instanceof Error && !/hunter/.test(error.message),
      );
    }
  });
});

describe('redis+sentinel:// when no Sentinel answers', { skip }, () => {
  // guards: a Sentinel client's connect() never settles while it keeps asking unreachable Sentinels
  test('openStore fails with store_unavailable naming the Sentinels, not a hang, and never shows a password', async () => {
    const ports = [await sparePort(), await sparePort()];
    const url = `redis+sentinel://app:hunter22@${ports.map((port) => `127.0.0.1:${port}`).join(',')}/kcprimary?sentinelPassword=hunter33`;
    await assert.rejects(openStore(url), (error) => {
      assert.ok(unavailable(error), String(error));
      const message = (error as Error).message;
      assert.match(message, new RegExp(`the redis store at 127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`));
      assert.match(message, /sentinels are unreachable/i);
      assert.doesNotMatch(message, /hunter/);
      return true;
    });
  });
});

describe('redis+sentinel:// feed when no Sentinel answers', { skip }, () => {
  // guards: the feed's connection asking unreachable Sentinels forever instead of reporting `down`
  test('subscribeRevocations resolves with the feed reported down, and the store closes', async () => {
    const store = new RedisStore({ url: `redis+sentinel://127.0.0.1:${await sparePort()}/kcprimary` });
    try {
      const states: string[] = [];
      const subscription = await store.subscribeRevocations({
        revoked: () => undefined,
        status: (state) => states.push(state),
      });
      assert.deepEqual(states, ['down']);
      await subscription.close();
    } finally {
      await store.close();
    }
  });
});

describe("durability: 'replicated' through Sentinel (private primary, replica and Sentinel)", {
  skip,
}, () => {
  let group: PrivateSentinelGroup;
  const stores: RedisStore[] = [];
  const clock = new ManualClock();

  const open = async (query: string, prefix = uniqueName('kcsentinel')): Promise<RedisStore> => {
    const store = new RedisStore({ url: `${group.url}?prefix=${prefix}&${query}`, clock });
    stores.push(store);
    await store.connect();
    return store;
  };

  before(async () => {
    group = await startPrivateSentinel();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await group?.stop();
  });

  // guards: a revocation reported done that a failover could undo
  test('with the replica silent, revocations and blocks fail with store_unavailable; reads and logins go on', async () => {
    const prefix = uniqueName('kcsentinel');
    const store = await open('durability=replicated&replicationTimeoutMs=200', prefix);
    const relaxed = await open('durability=primary', prefix);
    const user = userFixture(clock, uniqueName('bob'));
    await store.createUser(user);
    const owned = { id: user.id, username: user.username, role: 'user' };
    const first = sessionFixture(clock, { user: owned });
    const second = sessionFixture(clock, { user: owned });
    const third = sessionFixture(clock, { user: owned });
    for (const session of [first, second, third]) await store.createLogin(session);
    // A replica in step acknowledges at once.
    assert.equal(await store.deleteLogin(first.id), true);
    await store.addRevocation({
      kind: 'login',
      id: first.id,
      at: clock.now(),
      expiresAt: clock.now() + HOUR,
    });

    group.replica.pause();
    try {
      const revocation = {
        kind: 'user' as const,
        id: user.id,
        at: clock.now(),
        expiresAt: clock.now() + HOUR,
      };
      await assert.rejects(store.addRevocation(revocation), unavailable, 'addRevocation');
      await assert.rejects(store.deleteLogin(second.id), unavailable, 'deleteLogin');
      // A retry finds nothing left to delete, but what it would report done is still not replicated.
      await assert.rejects(store.deleteLogin(second.id), unavailable, 'deleteLogin, again');
      await assert.rejects(store.deleteUserLogins(user.id), unavailable, 'deleteUserLogins');
      await assert.rejects(
        store.updateUser(user.id, { blocked: true, updatedAt: clock.now() }),
        unavailable,
        'updateUser (block)',
      );
      // What needs no replica goes on: the per-request read, and a new login.
      assert.equal((await store.getLogin(first.id)) === null, true);
      const another = sessionFixture(clock, { user: owned });
      await store.createLogin(another);
      assert.equal((await store.getLogin(another.id))?.id, another.id);
      // Without the option the same write is acknowledged by the primary alone.
      assert.equal(await relaxed.deleteLogin(another.id), true);
    } finally {
      group.replica.resume();
    }
    await eventually(
      async () =>
        (await store.updateUser(user.id, { blocked: true, updatedAt: clock.now() }))?.blocked === true,
      'a block to be acknowledged once the replica answers again',
      { ignoreErrors: true, timeoutMs: 20_000 },
    );
  });

  test('an acknowledged revocation, deletion and block survive the primary’s death: the promoted replica has them', async () => {
    const prefix = uniqueName('kcsentinel');
    const store = await open('durability=replicated&replicationTimeoutMs=2000', prefix);
    // A revocation feed, which must find the new primary too (through a store with the default durability,
    // which can still write revocations once there is no replica).
    const plain = await open('durability=primary', prefix);
    const states: string[] = [];
    const heard: string[] = [];
    const subscription = await plain.subscribeRevocations({
      revoked: (record) => heard.push(record.id),
      status: (state) => states.push(state),
    });
    const user = userFixture(clock, uniqueName('carol'));
    const other = userFixture(clock, uniqueName('dave'));
    await store.createUser(user);
    await store.createUser(other);
    const owned = { id: user.id, username: user.username, role: 'user' };
    const deleted = sessionFixture(clock, { user: owned });
    const revoked = sessionFixture(clock, { user: owned });
    const kept = sessionFixture(clock, { user: { id: other.id, username: other.username, role: 'user' } });
    for (const session of [deleted, revoked, kept]) await store.createLogin(session);

    // The last acknowledged writes before the crash: nothing else is written between them and the kill.
    assert.equal(await store.deleteLogin(deleted.id), true);
    await store.addRevocation({
      kind: 'login',
      id: revoked.id,
      at: clock.now(),
      expiresAt: clock.now() + HOUR,
    });
    assert.equal((await store.updateUser(user.id, { blocked: true, updatedAt: clock.now() }))?.blocked, true);
    await group.primary.kill();

    // Fail closed while there is no primary, then the promoted replica, with no restart of the store.
    await assert.rejects(store.getLogin(kept.id), unavailable);
    await eventually(async () => (await group.primaryPort()) === group.replica.port, 'Sentinel to promote', {
      timeoutMs: 30_000,
      ignoreErrors: true,
    });
    await eventually(
      async () => (await store.getLogin(kept.id))?.id === kept.id,
      'the store on the new primary',
      {
        timeoutMs: 30_000,
        ignoreErrors: true,
      },
    );
    assert.equal(await store.getLogin(deleted.id), null, 'the deleted login stays deleted');
    assert.equal(
      await store.isRevoked({ loginId: revoked.id, userId: user.id, issuedAt: clock.now() - 1 }, clock.now()),
      true,
      'the revocation is there',
    );
    assert.equal((await store.getUserById(user.id))?.blocked, true, 'the block is there');
    // The new primary has no replica: a revocation now cannot be acknowledged, so it fails closed.
    await assert.rejects(
      store.addRevocation({ kind: 'login', id: kept.id, at: clock.now(), expiresAt: clock.now() + HOUR }),
      unavailable,
    );
    // The feed went down with the primary and is up again on the new one, hearing its revocations.
    await eventually(
      () => states.at(-1) === 'up' && states.includes('down'),
      'the feed up on the new primary',
      {
        timeoutMs: 20_000,
      },
    );
    const late = generateId();
    await plain.addRevocation({ kind: 'login', id: late, at: clock.now(), expiresAt: clock.now() + HOUR });
    await eventually(() => heard.includes(late), 'a revocation heard through the new primary');
    await subscription.close();
  });
});
