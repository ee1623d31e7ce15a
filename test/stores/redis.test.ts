/**
 * The Redis store on a real Redis: the conformance suite against the shared server (REDIS_URL, with a
 * key prefix of its own), then what only Redis has — TTLs and exactly which keys exist, one command per
 * session read and per refresh, the per-user indexes across slots and their pages, users from before
 * skeletons, URL parsing — and failing closed on a private redis-server that the test kills.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { KeycardError } from '../../src/core/errors.js';
import { generateToken, hashToken } from '../../src/core/random-tokens.js';
import { applyPatch } from '../../src/core/session/data.js';
import type { ClientRecord, LoginRecord, RefreshState } from '../../src/core/store.js';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import { openStoreURL, RedisStore } from '../../src/stores/redis/index.js';
import { type RedisKeys, redisKeys } from '../../src/stores/redis/keys.js';
import { parseRedisURL } from '../../src/stores/redis/url.js';
import {
  describeStoreConformance,
  refreshFixture,
  sessionFixture,
  tokenLoginFixture,
  userFixture,
} from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import {
  countKeysWithPrefix,
  deleteKeysWithPrefix,
  recordCommands,
  redisBinariesSkipReason,
  sparePort,
  startPrivateRedis,
} from '../helpers/redis-servers.js';
import { REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

const HOUR = 3_600_000;

function clientFixture(clock: ManualClock, id: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    id,
    name: 'orders-service',
    scopes: ['orders:read'],
    secretHash: hashToken(generateToken()),
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    generation: 1,
    disabled: false,
    createdAt: clock.now(),
    updatedAt: clock.now(),
    ...overrides,
  };
}

const redisSkip = await redisSkipReason();
const binariesSkip = await redisBinariesSkipReason();

const unavailable = (error: unknown): boolean =>
  error instanceof KeycardError && error.code === 'store_unavailable';

if (redisSkip) {
  test('store conformance: redis', { skip: redisSkip }, () => {});
} else {
  describeStoreConformance('redis', async (clock) => {
    const prefix = uniqueName('kctest');
    const store = new RedisStore({ url: REDIS_URL, prefix, clock });
    await store.connect();
    const admin = new Redis(REDIS_URL);
    return {
      store,
      // Another instance: its own connections (data and feed) on the same Redis and prefix.
      openAnother: async () => {
        const another = new RedisStore({ url: REDIS_URL, prefix, clock });
        await another.connect();
        return another;
      },
      reset: () => deleteKeysWithPrefix(admin, prefix),
      recordCount: () => countKeysWithPrefix(admin, prefix),
      async close() {
        await deleteKeysWithPrefix(admin, prefix);
        await store.close();
        admin.disconnect();
      },
    };
  });
}

describe('redis store on the shared server', { skip: redisSkip }, () => {
  const clock = new ManualClock();
  const prefix = uniqueName('kctest');
  const keys = redisKeys(prefix);
  let store: RedisStore;
  let admin: Redis;

  before(async () => {
    store = new RedisStore({ url: REDIS_URL, prefix, clock });
    admin = new Redis(REDIS_URL);
  });
  after(async () => {
    await deleteKeysWithPrefix(admin, prefix);
    await store?.close();
    admin?.disconnect();
  });
  beforeEach(async () => {
    await deleteKeysWithPrefix(admin, prefix);
  });

  /** PTTL is within a second of `expected` (the test's own commands take a few ms). */
  async function assertTTL(key: string, expected: number): Promise<void> {
    const ttl = await admin.pttl(key);
    assert.ok(ttl <= expected && ttl > expected - 1000, `${key}: PTTL ${ttl}, expected about ${expected}`);
  }

  test('every key but the users’ and clients’ has a TTL that follows the record’s expiry', async () => {
    const session = sessionFixture(clock);
    await store.createLogin(session);
    await assertTTL(keys.session(session.id), HOUR);
    await assertTTL(keys.userSessions('user-1'), 24 * HOUR);
    await assertTTL(keys.userLogins('user-1'), 24 * HOUR);

    await store.touchLogin(session.id, clock.now() + 1000, session.expiresAt + HOUR);
    await assertTTL(keys.session(session.id), 2 * HOUR);
    await store.patchLoginData(
      session.id,
      { set: { a: 1 }, unset: [] },
      { maxBytes: 1000, touch: { lastActiveAt: clock.now(), expiresAt: clock.now() + 3 * HOUR } },
    );
    await assertTTL(keys.session(session.id), 3 * HOUR);

    const login = tokenLoginFixture(clock, { absoluteExpiresAt: clock.now() + 30 * 24 * HOUR });
    await store.createLogin(login);
    await assertTTL(keys.session(login.id), HOUR);
    await assertTTL(keys.userSessions('user-1'), 30 * 24 * HOUR);
    await assertTTL(keys.userLogins('user-1'), 30 * 24 * HOUR);
    const state = login.refresh as RefreshState;
    const rotated = await store.advanceRefresh(
      login.id,
      0,
      { ...state, generation: 1 },
      { lastActiveAt: clock.now(), expiresAt: clock.now() + 7 * 24 * HOUR },
    );
    assert.equal(rotated?.refresh?.generation, 1);
    await assertTTL(keys.session(login.id), 7 * 24 * HOUR);

    await store.incrementCounter('login:alice', 60_000, clock.now());
    await assertTTL(keys.counter('login:alice'), 60_000);
    await store.releaseCounter('login:alice', clock.now() + 60_000, clock.now());
    await assertTTL(keys.counter('login:alice'), 60_000);

    const user = userFixture(clock);
    await store.createUser(user);
    await store.createClient(clientFixture(clock, 'kc_ttl'));
    let cursor = '0';
    const seen: string[] = [];
    do {
      const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        if (!seen.includes(key)) seen.push(key);
        const ttl = await admin.pttl(key);
        if (key.startsWith(`${prefix}:{users}:`) || key.startsWith(`${prefix}:{clients}:`)) {
          assert.equal(ttl, -1, `${key}: users and clients do not expire`);
        } else assert.ok(ttl > 0, `${key} has no TTL`);
      }
    } while (cursor !== '0');
    // guards: a refresh must not leave keys behind (issue 12, point 5): a token login is its one hash.
    assert.deepEqual(
      seen.filter((key) => key !== keys.usersSchema()).sort(),
      [
        keys.session(session.id),
        keys.session(login.id),
        keys.userSessions('user-1'),
        keys.userLogins('user-1'),
        keys.counter('login:alice'),
        keys.user(user.id),
        keys.usernames(),
        keys.skeletons(),
        keys.sortedUsernames(),
        keys.client('kc_ttl'),
        keys.clientIds(),
      ].sort(),
    );
  });

  test('TTLs are relative to the store’s clock, not Redis’s (an injected clock far from real time)', async () => {
    const farClock = new ManualClock(Date.UTC(2000, 0, 1));
    const past = new RedisStore({ url: REDIS_URL, prefix, clock: farClock });
    try {
      const session = sessionFixture(farClock);
      await past.createLogin(session);
      assert.ok(await past.getLogin(session.id), 'an absolute PEXPIREAT in 2000 would have deleted it');
      await assertTTL(keys.session(session.id), HOUR);
    } finally {
      await past.close();
    }
  });

  test('getLogin is exactly one Redis command, found or not', async () => {
    const client = new Redis(REDIS_URL);
    const counted = new RedisStore({ client, prefix, clock });
    const sent = recordCommands(client);
    try {
      const session = sessionFixture(clock, { data: { cart: [1, 2] } });
      await counted.createLogin(session);
      sent.length = 0;
      assert.deepEqual(await counted.getLogin(session.id), session);
      assert.deepEqual(sent, ['hgetall']);
      sent.length = 0;
      assert.equal(await counted.getLogin(hashToken(generateToken())), null);
      assert.deepEqual(sent, ['hgetall']);
      const login = tokenLoginFixture(clock);
      await counted.createLogin(login);
      sent.length = 0;
      assert.deepEqual(await counted.getLogin(login.id), login, 'with its refresh state');
      assert.deepEqual(sent, ['hgetall']);
    } finally {
      await counted.close();
      client.disconnect();
    }
  });

  test('reads issued together leave in one write to the socket, and each still gets its own answer', async () => {
    const client = new Redis(REDIS_URL);
    const counted = new RedisStore({ client, prefix, clock });
    try {
      await client.ping();
      const sessions = Array.from({ length: 20 }, () => sessionFixture(clock));
      for (const session of sessions) await counted.createLogin(session);
      const socket = client.stream as unknown as {
        _write: (...args: unknown[]) => void;
        _writev: (...args: unknown[]) => void;
      };
      let writes = 0;
      const write = socket._write.bind(socket);
      const writev = socket._writev.bind(socket);
      socket._write = (...args) => {
        writes++;
        write(...args);
      };
      socket._writev = (...args) => {
        writes++;
        writev(...args);
      };
      const missing = hashToken(generateToken());
      const reads = [...sessions.map((session) => counted.getLogin(session.id)), counted.getLogin(missing)];
      // Without coalescing, each of the 21 commands is its own write (a system call each).
      assert.deepEqual(await Promise.all(reads), [...sessions, null]);
      assert.equal(writes, 1, `${writes} writes for 21 reads issued in the same turn`);
      // A read on its own is not held back for company.
      writes = 0;
      assert.deepEqual(await counted.getLogin(sessions[0]?.id as string), sessions[0]);
      assert.equal(writes, 1);
    } finally {
      await counted.close();
      client.disconnect();
    }
  });

  test('a login is one Redis command on a standalone Redis: the record and both index entries, together', async () => {
    const client = new Redis(REDIS_URL);
    const counted = new RedisStore({ client, prefix, clock });
    const sent = recordCommands(client);
    try {
      // Once first, so that the script is loaded (EVALSHA falls back to EVAL once per server).
      await counted.createLogin(sessionFixture(clock));
      sent.length = 0;
      const session = sessionFixture(clock, { data: { cart: [1, 2] } });
      await counted.createLogin(session);
      assert.deepEqual(sent, ['evalsha'], 'one round trip');
      assert.deepEqual(await counted.getLogin(session.id), session);
      assert.equal(
        await admin.zscore(keys.userSessions('user-1'), session.id),
        String(session.absoluteExpiresAt),
      );
      assert.equal(await admin.zscore(keys.userLogins('user-1'), session.id), String(session.createdAt));
      assert.equal(await counted.countUserLogins('user-1'), 2);
      assert.equal(await counted.deleteUserLogins('user-1'), 2, 'log out everywhere finds both');
    } finally {
      await counted.close();
      client.disconnect();
    }
  });

  test('a login whose script fails part-way leaves no record behind (at most a stale index entry)', async () => {
    // guards: a record without its index entry (one that "log out everywhere" would miss). Redis does not
    // undo a script's writes before an error, so the script indexes first and writes the record last.
    const session = sessionFixture(clock);
    // A user index of the wrong type makes the script fail at its second ZADD, after the first.
    await admin.set(keys.userLogins('user-1'), 'not a sorted set');
    await assert.rejects(store.createLogin(session), unavailable);
    assert.equal(await admin.exists(keys.session(session.id)), 0, 'no record');
    assert.equal(await store.getLogin(session.id), null);
  });

  test('a session that expired in Redis is skipped by the index, and deleting it counts nothing', async () => {
    const gone = sessionFixture(clock, { expiresAt: clock.now() + 30 });
    const live = sessionFixture(clock);
    await store.createLogin(gone);
    await store.createLogin(live);
    for (let attempt = 0; (await store.getLogin(gone.id)) !== null; attempt++) {
      assert.ok(attempt < 500, 'Redis never expired the session key');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(
      (await store.listUserLogins('user-1')).map((session) => session.id),
      [live.id],
    );
    assert.equal(await store.deleteUserLogins('user-1'), 1);
  });

  // guards: a session created concurrently with a delete-all must stay reachable through the index
  test('delete-all keeps an index entry whose session is still being written, so a later delete-all finds it', async () => {
    const session = sessionFixture(clock);
    // The first half of createLogin (the index entries), as another instance would have done it just now.
    await admin.zadd(keys.userSessions('user-1'), session.absoluteExpiresAt, session.id);
    await admin.zadd(keys.userLogins('user-1'), session.createdAt, session.id);
    assert.equal(await store.deleteUserLogins('user-1'), 0);
    assert.ok(await admin.zscore(keys.userSessions('user-1'), session.id), 'the entry must survive');
    await store.createLogin(session);
    assert.equal(await store.deleteUserLogins('user-1'), 1);
    assert.equal(await store.getLogin(session.id), null);
    assert.equal(await admin.zscore(keys.userSessions('user-1'), session.id), null, 'now it is forgotten');
    assert.equal(await admin.zscore(keys.userLogins('user-1'), session.id), null, 'from both indexes');
  });

  test('index entries past their absolute expiry are dropped from both indexes when the index is next written', async () => {
    const old = sessionFixture(clock, { absoluteExpiresAt: clock.now() + HOUR });
    await store.createLogin(old);
    clock.advance(HOUR);
    await store.createLogin(sessionFixture(clock));
    assert.equal(await admin.zscore(keys.userSessions('user-1'), old.id), null);
    assert.equal(await admin.zscore(keys.userLogins('user-1'), old.id), null);
  });

  test('…and when a page is read, with no write of any session', async () => {
    const old = sessionFixture(clock, { absoluteExpiresAt: clock.now() + HOUR });
    const live = sessionFixture(clock);
    await store.createLogin(old);
    await store.createLogin(live);
    clock.advance(HOUR);
    assert.deepEqual(
      (await store.listUserLogins('user-1', { limit: 10 })).map((session) => session.id),
      [live.id],
    );
    assert.equal(await admin.zscore(keys.userSessions('user-1'), old.id), null);
    assert.equal(await admin.zscore(keys.userLogins('user-1'), old.id), null);
  });

  // guards: a user who stopped signing in is not counted as holding logins forever (the per-user cap)
  test('countUserLogins leaves out logins past their absolute expiry, pruned or not', async () => {
    await store.createLogin(sessionFixture(clock, { absoluteExpiresAt: clock.now() + HOUR }));
    await store.createLogin(sessionFixture(clock, { absoluteExpiresAt: clock.now() + 2 * HOUR }));
    assert.equal(await store.countUserLogins('user-1'), 2);
    clock.advance(HOUR);
    assert.equal(await admin.zcard(keys.userSessions('user-1')), 2, 'nothing pruned yet');
    assert.equal(await store.countUserLogins('user-1'), 1);
    clock.advance(HOUR);
    assert.equal(await store.countUserLogins('user-1'), 0);
  });

  // guards: core reads logins page by page and stops at the first short page; a stale entry that
  // shortened a page would hide the logins after it from "log out everywhere" and blocking
  test('a page is full even when index entries in it are stale (sessions that expired while idle)', async () => {
    const created = [];
    for (let i = 0; i < 45; i++) {
      clock.advance(1);
      created.push(sessionFixture(clock));
    }
    for (const record of created) await store.createLogin(record);
    const newestFirst = [...created].reverse();
    // What Redis's TTL does to a session that idles out: the key goes, its index entries stay.
    const stale = new Set([1, 3, ...Array.from({ length: 38 }, (_, i) => i + 5)]);
    for (const i of stale) await admin.del(keys.session((newestFirst[i] as LoginRecord).id));
    const live = newestFirst.filter((_, i) => !stale.has(i)).map((record) => record.id);
    assert.equal(live.length, 5);
    const seen: string[] = [];
    let after: { createdAt: number; id: string } | undefined;
    for (let round = 0; round < 10; round++) {
      const page = await store.listUserLogins('user-1', { limit: 2, after });
      seen.push(...page.map((record) => record.id));
      const last = page[page.length - 1];
      if (page.length < 2 || !last) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
    assert.deepEqual(seen, live);
    assert.deepEqual(
      (await store.listUserLogins('user-1')).map((record) => record.id),
      live,
    );
  });

  test('a page continues after a cursor whose login has ended meanwhile, ties by id included', async () => {
    const created = [];
    for (let i = 0; i < 9; i++) {
      if (i % 3 === 0) clock.advance(1);
      created.push(tokenLoginFixture(clock));
    }
    for (const record of created) await store.createLogin(record);
    const expected = [...created]
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map((record) => record.id);
    for (const cut of [1, 2, 4]) {
      const first = await store.listUserLogins('user-1', { limit: cut });
      const last = first[first.length - 1] as LoginRecord;
      assert.equal(last.id, expected[cut - 1]);
      await store.deleteLogin(last.id);
      const rest = await store.listUserLogins('user-1', {
        limit: 20,
        after: { createdAt: last.createdAt, id: last.id },
      });
      assert.deepEqual(
        rest.map((record) => record.id),
        expected.slice(cut),
        `after the ${cut}th`,
      );
      expected.splice(cut - 1, 1);
    }
  });

  // Lua's unpack() fails past about 8,000 values ("too many results to unpack").
  test('9,000 ids at once: delete-all and pruning empty both indexes (scripts take them in slices)', async () => {
    const now = clock.now();
    const ids = Array.from({ length: 9000 }, () => hashToken(generateToken()));
    // What 9,000 createLogin calls would leave, written in bulk.
    const bulk = admin.pipeline();
    for (const id of ids)
      bulk.hset(keys.session(id), 'c', now, 'l', now, 'e', now + HOUR, 'a', now + HOUR, 'uid', 'user-1');
    bulk.zadd(keys.userSessions('user-1'), ...ids.flatMap((id) => [now + HOUR, id]));
    bulk.zadd(keys.userLogins('user-1'), ...ids.flatMap((id) => [now, id]));
    await bulk.exec();
    assert.equal(await store.deleteUserLogins('user-1'), 9000);
    assert.equal(await admin.exists(keys.userSessions('user-1'), keys.userLogins('user-1')), 0);
    await admin.zadd(keys.userSessions('user-1'), ...ids.flatMap((id) => [now + 1, id]));
    await admin.zadd(keys.userLogins('user-1'), ...ids.flatMap((id) => [now, id]));
    clock.advance(1);
    assert.deepEqual(await store.listUserLogins('user-1', { limit: 5 }), []);
    assert.equal(await admin.exists(keys.userSessions('user-1'), keys.userLogins('user-1')), 0);
  });

  // guards: sessions written before the creation index existed stay reachable by "log out everywhere"
  test('a session in the expiry index only (written by an older version) is counted and deleted by delete-all', async () => {
    const session = sessionFixture(clock);
    await store.createLogin(session);
    await admin.zrem(keys.userLogins('user-1'), session.id);
    assert.equal(await store.countUserLogins('user-1'), 1);
    assert.equal(await store.deleteUserLogins('user-1'), 1);
    assert.equal(await store.getLogin(session.id), null);
  });

  test('the size limit is the merged data’s JSON size, byte for byte (any keys, any JSON, any script)', async () => {
    const data = fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 5,
    });
    await fc.assert(
      fc.asyncProperty(
        data,
        data,
        fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
        async (a, b, c) => {
          const initial = JSON.parse(JSON.stringify(a));
          const patch = { set: JSON.parse(JSON.stringify(b)), unset: c };
          const merged = applyPatch(initial, patch);
          const bytes = Buffer.byteLength(JSON.stringify(merged));
          const session = sessionFixture(clock, { data: initial });
          await store.createLogin(session);
          assert.equal(await store.patchLoginData(session.id, patch, { maxBytes: bytes - 1 }), 'too_large');
          assert.deepEqual((await store.getLogin(session.id))?.data, initial);
          assert.equal(await store.patchLoginData(session.id, patch, { maxBytes: bytes }), 'ok');
          assert.deepEqual((await store.getLogin(session.id))?.data, merged);
          await store.deleteLogin(session.id);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('data keeps empty arrays, empty objects, large and negative numbers and astral characters exactly', async () => {
    const data = {
      list: [],
      object: {},
      nested: [[], {}, [{}]],
      big: 2 ** 53 - 1,
      small: -1.5e-300,
      text: '𝄞 “quotes” \u0000 \ud800',
    };
    const session = sessionFixture(clock, { data });
    await store.createLogin(session);
    assert.deepEqual((await store.getLogin(session.id))?.data, JSON.parse(JSON.stringify(data)));
    await store.patchLoginData(
      session.id,
      { set: { list: [[]], more: {} }, unset: [] },
      { maxBytes: 10_000 },
    );
    const loaded = await store.getLogin(session.id);
    assert.deepEqual(loaded?.data.list, [[]]);
    assert.deepEqual(loaded?.data.more, {});
  });

  test('advanceRefresh is one script, and a lost compare-and-set writes nothing', async () => {
    const client = new Redis(REDIS_URL);
    const counted = new RedisStore({ client, prefix, clock });
    const sent = recordCommands(client);
    try {
      const login = tokenLoginFixture(clock, { data: { keep: 'me' } });
      await counted.createLogin(login);
      const state = login.refresh as RefreshState;
      const touch = { lastActiveAt: clock.now(), expiresAt: login.expiresAt };
      // Once first, so that the script is loaded (EVALSHA falls back to EVAL once per server).
      assert.ok(await counted.advanceRefresh(login.id, 0, { ...state, generation: 1 }, touch));
      sent.length = 0;
      const next = { ...state, generation: 2, rotatedAt: clock.now() + 1, rotationsInWindow: 2 };
      assert.deepEqual((await counted.advanceRefresh(login.id, 1, next, touch))?.refresh, next);
      assert.deepEqual(sent, ['evalsha']);
      const before = await admin.hgetall(keys.session(login.id));
      assert.equal(await counted.advanceRefresh(login.id, 1, { ...next, generation: 3 }, touch), null);
      assert.deepEqual(await admin.hgetall(keys.session(login.id)), before, 'the stale generation lost');
    } finally {
      await counted.close();
      client.disconnect();
    }
  });

  test('releasing a counter never creates one, nor touches a window that has ended', async () => {
    const resetAt = clock.now() + 60_000;
    await store.releaseCounter('login:nobody', resetAt, clock.now());
    assert.equal(await admin.exists(keys.counter('login:nobody')), 0);
    await admin.hset(keys.counter('login:expired'), 'n', 3, 'r', clock.now());
    await store.releaseCounter('login:expired', clock.now(), clock.now());
    assert.equal(await admin.hget(keys.counter('login:expired'), 'n'), '3', 'a window that has ended');
  });

  test('a client update keeps the previous secret it does not name, and removes the fields null clears', async () => {
    const client = clientFixture(clock, 'kc_rotating', {
      previousSecretHash: 'old-hash',
      previousSecretExpiresAt: clock.now() + 60_000,
    });
    await store.createClient(client);
    const renamed = await store.updateClient(client.id, { name: 'renamed', updatedAt: clock.now() + 1 });
    assert.deepEqual(renamed, { ...client, name: 'renamed', updatedAt: clock.now() + 1 });
    await store.updateClient(client.id, {
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      updatedAt: clock.now() + 2,
    });
    assert.deepEqual((await admin.hkeys(keys.client(client.id))).sort(), [
      'created',
      'disabled',
      'gen',
      'hash',
      'id',
      'name',
      'scopes',
      'updated',
    ]);
  });

  test('updating or deleting an unknown client writes nothing; creating leaves the record and its id', async () => {
    assert.equal(await store.updateClient('kc_ghost', { disabled: true, updatedAt: clock.now() }), null);
    assert.equal(await admin.exists(keys.client('kc_ghost')), 0, 'an update never creates a client');
    assert.equal(await store.deleteClient('kc_ghost'), false);
    await store.createClient(clientFixture(clock, 'kc_real'));
    assert.deepEqual(await admin.zrange(keys.clientIds(), 0, -1), ['kc_real']);
    assert.equal(await store.deleteClient('kc_real'), true);
    assert.equal(await admin.exists(keys.client('kc_real'), keys.clientIds()), 0);
  });

  // guards: two admins adding a client with the same id at once (the id check and the write are one script)
  test('concurrent creation of one client id admits exactly one', async () => {
    const results = await Promise.allSettled(
      ['first', 'second', 'third', 'fourth'].map((name) =>
        store.createClient(clientFixture(clock, 'kc_contested', { name })),
      ),
    );
    const created = results.filter((result) => result.status === 'fulfilled');
    assert.equal(created.length, 1);
    for (const result of results) {
      if (result.status === 'rejected') {
        assert.ok(result.reason instanceof KeycardError && result.reason.code === 'invalid_request');
      }
    }
    const names = ['first', 'second', 'third', 'fourth'];
    const winner = names[results.findIndex((result) => result.status === 'fulfilled')];
    assert.equal((await store.getClient('kc_contested'))?.name, winner);
  });

  test('lists every client when the limit is unbounded, none when it is 0', async () => {
    for (const id of ['kc_b', 'kc_a', 'kc_c']) await store.createClient(clientFixture(clock, id));
    assert.deepEqual(
      (await store.listClients({ limit: Number.POSITIVE_INFINITY })).map((client) => client.id),
      ['kc_a', 'kc_b', 'kc_c'],
    );
    assert.deepEqual(await store.listClients({ limit: 0 }), []);
  });
});

describe('redis store users written before skeletons', { skip: redisSkip }, () => {
  const clock = new ManualClock();
  let admin: Redis;
  before(() => {
    admin = new Redis(REDIS_URL);
  });
  after(() => admin?.disconnect());

  /** A user as an older version wrote it: no `skel` field, not in the skeletons hash. */
  async function writeLegacyUser(keys: RedisKeys, id: string, username: string, createdAt: number) {
    await admin.hset(keys.user(id), {
      id,
      name: username,
      role: 'user',
      blocked: '0',
      created: String(createdAt),
      updated: String(createdAt),
    });
    await admin.hset(keys.usernames(), username, id);
    await admin.zadd(keys.sortedUsernames(), 0, username);
  }

  // guards: a look-alike of a user created before skeletons existed must be refused too (issue 12, point 8)
  test('get their skeleton once, the later of two look-alikes #legacy:<id>, and new look-alikes are refused', async () => {
    const prefix = uniqueName('kctest');
    const keys = redisKeys(prefix);
    const now = clock.now();
    // Precomposed é and e + U+0301: two canonical names with one skeleton; the later one has the smaller id.
    await writeLegacyUser(keys, 'id-b', 'caf\u00e9', now - 2000);
    await writeLegacyUser(keys, 'id-a', 'cafe\u0301', now - 1000);
    await writeLegacyUser(keys, 'id-c', 'dora', now - 3000);
    // A store that is never connect()ed: its first createUser back-fills.
    const store = new RedisStore({ url: REDIS_URL, prefix, clock });
    const again = new RedisStore({ url: REDIS_URL, prefix, clock });
    try {
      await assert.rejects(
        store.createUser(
          userFixture(clock, { username: 'c\u00e0fe', skeleton: usernameSkeleton('caf\u00e9') }),
        ),
        (error) => error instanceof KeycardError && /looks like an existing username/.test(error.message),
      );
      assert.equal((await store.getUserById('id-b'))?.skeleton, usernameSkeleton('caf\u00e9'));
      assert.equal((await store.getUserById('id-a'))?.skeleton, '#legacy:id-a', 'the later look-alike');
      assert.equal((await store.getUserById('id-c'))?.skeleton, usernameSkeleton('dora'));
      assert.equal(await admin.hget(keys.skeletons(), usernameSkeleton('dora')), 'id-c');
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'd\u00f6ra', skeleton: usernameSkeleton('dora') })),
        (error) => error instanceof KeycardError && error.code === 'username_taken',
      );
      const fresh = userFixture(clock, { username: 'erin' });
      await store.createUser(fresh);
      // Another instance starting later: the marker says done, nothing is written again.
      const before = await admin.hgetall(keys.skeletons());
      await again.connect();
      assert.deepEqual(await admin.hgetall(keys.skeletons()), before);
      assert.deepEqual(await again.getUserById(fresh.id), fresh);
      assert.equal(await store.countUsers(), 4);
    } finally {
      await store.close();
      await again.close();
      await deleteKeysWithPrefix(admin, prefix);
    }
  });
});

describe('redis store URLs and options', () => {
  test('parses standalone, TLS and Cluster URLs', () => {
    assert.deepEqual(parseRedisURL('redis://localhost'), {
      connection: { nodes: [{ host: 'localhost', port: 6379 }], cluster: false, tls: false },
    });
    const full = parseRedisURL(
      'rediss://app:p%40ss%3Aword@cache.example:6380/2?prefix=auth&connectTimeoutMs=2000&commandTimeoutMs=300&reconnectMaxDelayMs=500',
    );
    assert.deepEqual(full, {
      connection: {
        nodes: [{ host: 'cache.example', port: 6380 }],
        cluster: false,
        tls: true,
        username: 'app',
        password: 'p@ss:word',
        db: 2,
        connectTimeoutMs: 2000,
        commandTimeoutMs: 300,
        reconnectMaxDelayMs: 500,
      },
      prefix: 'auth',
    });
    assert.equal(parseRedisURL('redis://:secret@[::1]:7000').connection.password, 'secret');
    assert.deepEqual(parseRedisURL('redis://:secret@[::1]:7000').connection.nodes, [
      { host: '::1', port: 7000 },
    ]);
    const cluster = parseRedisURL('redis+cluster://10.0.0.1:7000,10.0.0.2:7001/?tls=true&prefix=kc2');
    assert.deepEqual(cluster.connection.nodes, [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    assert.equal(cluster.connection.cluster, true);
    assert.equal(cluster.connection.tls, true);
    assert.equal(cluster.prefix, 'kc2');
  });

  test('refuses malformed URLs with a message that never echoes the password', () => {
    const cases = [
      'redis://user:hunter2@host:99999',
      'redis://user:hunter2@a:1,b:2',
      'redis://user:hunter2@host/notadb',
      'redis+cluster://user:hunter2@a:1/3',
      'redis://user:hunter2@host?bogus=1',
      'redis://user:hunter2@host?connectTimeoutMs=soon',
      'redis://user:hunter2%zz@host',
      'redis://user:hunter2@',
      'http://user:hunter2@host',
    ];
    for (const url of cases) {
      assert.throws(
        () => parseRedisURL(url),
        (error) =>
          error instanceof KeycardError &&
          error.code === 'invalid_configuration' &&
          !error.message.includes('hunter2'),
        url,
      );
    }
  });

  test('the store needs exactly one of client and url, and a prefix without braces', () => {
    const misuse = (error: unknown) =>
      error instanceof KeycardError && error.code === 'invalid_configuration';
    assert.throws(() => new RedisStore({}), misuse);
    assert.throws(() => new RedisStore({ url: 'redis://localhost', prefix: 'a{b}' }), misuse);
    assert.throws(() => new RedisStore({ url: 'redis://localhost?prefix=' }), misuse);
  });

  test('openStoreURL fails with store_unavailable, not a hang or a crash, when nothing listens', async () => {
    const port = await sparePort();
    await assert.rejects(
      openStoreURL(`redis://user:hunter2@127.0.0.1:${port}/?prefix=${uniqueName('kctest')}`),
      (error) => unavailable(error) && !String((error as Error).message).includes('hunter2'),
    );
  });
});

describe('redis store fails closed and recovers (private redis-server)', { skip: binariesSkip }, () => {
  test('a command to a paused server fails with store_unavailable (timed out), and its late reply answers no later command', async () => {
    const redis = await startPrivateRedis();
    const clock = new ManualClock();
    const url = `redis://127.0.0.1:${redis.port}/?prefix=${uniqueName('kctest')}&commandTimeoutMs=300`;
    const store = await openStoreURL(url, { clock });
    try {
      const first = sessionFixture(clock, { data: { which: 'first' } });
      const second = sessionFixture(clock, { data: { which: 'second' } });
      await store.createLogin(first);
      await store.createLogin(second);

      redis.pause();
      // Without a timeout the read would wait for as long as the server is stopped; the guard turns such
      // a hang into a failure of its own.
      let guard: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error('the read hung on a paused server')), 20_000);
      });
      try {
        await assert.rejects(
          Promise.race([store.getLogin(first.id), hang]),
          (error) =>
            unavailable(error) &&
            (error as Error).cause instanceof Error &&
            ((error as Error).cause as Error).message === 'Command timed out',
        );
      } finally {
        clearTimeout(guard);
      }

      redis.resume();
      // The late reply to the first read is still owed on this connection; it must be matched to that
      // read (already failed) and dropped, never handed to the next one.
      assert.deepEqual(await store.getLogin(second.id), second);
      assert.deepEqual(await store.getLogin(first.id), first);
    } finally {
      redis.resume();
      await store.close();
      await redis.stop();
    }
  });

  test('commands in flight hold no timer each: the command timeout is one watchdog per connection', async () => {
    const redis = await startPrivateRedis();
    const store = await openStoreURL(`redis://127.0.0.1:${redis.port}/?prefix=${uniqueName('kctest')}`);
    try {
      const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
      const idle = timers();
      const reads = Array.from({ length: 50 }, () => store.getLogin(hashToken(generateToken())));
      // ioredis's own commandTimeout arms one timer per command sent (50 here).
      assert.ok(timers() - idle < 5, `${timers() - idle} timers for 50 commands in flight`);
      assert.deepEqual(await Promise.all(reads), Array(50).fill(null));
    } finally {
      await store.close();
      await redis.stop();
    }
  });

  test('operations reject with store_unavailable while Redis is down, and work again once it is back', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // Data survives the kill (append-only file), so recovery can be checked on records written before.
    const redis = await startPrivateRedis({ persistent: true });
    const clock = new ManualClock();
    const url = `redis://127.0.0.1:${redis.port}/?prefix=${uniqueName('kctest')}&commandTimeoutMs=60000`;
    const store = await openStoreURL(url, { clock });
    let late: RedisStore | undefined;
    try {
      const session = sessionFixture(clock);
      await store.createLogin(session);

      await redis.kill();
      for (let attempt = 0; ; attempt++) {
        const error = await store.getLogin(session.id).then(
          () => null,
          (failure: unknown) => failure,
        );
        if (error !== null) {
          assert.ok(unavailable(error), `expected store_unavailable, got ${String(error)}`);
          break;
        }
        assert.ok(attempt < 500, 'reads kept succeeding after Redis was killed');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Each rejects promptly: a command queued until Redis returns (or for the 60 s command timeout)
      // would trip this deadline instead.
      const promptly = <T>(operation: Promise<T>): Promise<T> =>
        Promise.race([
          operation,
          new Promise<never>((_, reject) => {
            const timer = setTimeout(
              () => reject(new Error('the operation hung while Redis was down')),
              5000,
            );
            operation.then(
              () => clearTimeout(timer),
              () => clearTimeout(timer),
            );
          }),
        ]);
      const operations: [string, () => Promise<unknown>][] = [
        ['ping', () => store.ping()],
        ['getLogin', () => store.getLogin(session.id)],
        ['createLogin', () => store.createLogin(sessionFixture(clock))],
        ['touchLogin', () => store.touchLogin(session.id, clock.now(), session.expiresAt + 1)],
        [
          'patchLoginData',
          () => store.patchLoginData(session.id, { set: { a: 1 }, unset: [] }, { maxBytes: 100 }),
        ],
        ['deleteLogin', () => store.deleteLogin(session.id)],
        ['listUserLogins', () => store.listUserLogins('user-1')],
        ['deleteUserLogins', () => store.deleteUserLogins('user-1')],
        ['createUser', () => store.createUser(userFixture(clock))],
        ['getUserByUsername', () => store.getUserByUsername('alice')],
        ['incrementCounter', () => store.incrementCounter('ip:1', 60_000, clock.now())],
        ['listUserLogins (a page)', () => store.listUserLogins('user-1', { limit: 10 })],
        ['countUserLogins', () => store.countUserLogins('user-1')],
        ['countLogins', () => store.countLogins(clock.now())],
        [
          'advanceRefresh',
          () =>
            store.advanceRefresh(session.id, 0, refreshFixture(clock, { generation: 1 }), {
              lastActiveAt: clock.now(),
              expiresAt: clock.now() + HOUR,
            }),
        ],
        ['releaseCounter', () => store.releaseCounter('ip:1', clock.now() + 60_000, clock.now())],
      ];
      for (const [name, operation] of operations) {
        await assert.rejects(promptly(operation()), unavailable, name);
      }
      // A store created while Redis is away does not fail to construct; it reports and keeps trying.
      late = new RedisStore({ url, clock });
      await assert.rejects(
        promptly(late.getLogin(session.id)),
        unavailable,
        'a store created during the outage',
      );

      await redis.restart();
      for (let attempt = 0; ; attempt++) {
        if (
          await store.ping().then(
            () => true,
            () => false,
          )
        )
          break;
        assert.ok(attempt < 1000, 'the store never reconnected');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(await store.getLogin(session.id), session, 'the same record, read after reconnecting');
      const fresh = sessionFixture(clock);
      await store.createLogin(fresh);
      assert.ok(await store.getLogin(fresh.id));
      for (let attempt = 0; ; attempt++) {
        const found = await late.getLogin(fresh.id).then(
          (record) => record,
          () => null,
        );
        if (found) break;
        assert.ok(attempt < 1000, 'the store created during the outage never connected');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await late?.close();
      await store.close();
      await redis.stop();
    }
  });
});
