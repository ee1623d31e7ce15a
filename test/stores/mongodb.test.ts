/**
 * The MongoDB store. No MongoDB server can be installed on our machines or CI (Debian 12 packages no
 * mongod; mongodb-memory-server downloads the server from MongoDB's own hosts, which cannot be reached),
 * so the conformance suite and every test that needs a server run only where KEYCARD_TEST_MONGODB_URL is
 * set, e.g. KEYCARD_TEST_MONGODB_URL=mongodb://127.0.0.1:27017/keycard_test. Otherwise each of them is
 * reported as skipped, with the reason — under CI=true too: unlike Redis and PostgreSQL, whose absence
 * fails CI (`serviceSkipReason`), MongoDB is absent there by design. Nothing here stands in for a server.
 *
 * The tests in the last section need no server: an unreachable one, URL handling, option checks.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { BSON, type Collection, type Document } from 'mongodb';
import { KeycardError } from '../../src/core/errors.js';
import { generateId, generateToken, hashToken } from '../../src/core/random-tokens.js';
import { applyPatch } from '../../src/core/session/data.js';
import type {
  ClientRecord,
  FactorRecord,
  RevocationRecord,
  SessionData,
  Store,
} from '../../src/core/store.js';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import {
  type RevocationFeedDocument,
  toClient,
  toClientDocument,
  toSession,
  toSessionDocument,
  toUser,
  toUserDocument,
} from '../../src/stores/mongodb/documents.js';
import { toFactor, toFactorDocument } from '../../src/stores/mongodb/factors.js';
import { MongoStore, openStoreURL } from '../../src/stores/mongodb/index.js';
import {
  FEED_ID,
  FEED_LENGTH,
  type FeedReader,
  feedFilter,
  RevocationPoller,
} from '../../src/stores/mongodb/revocation-feed.js';
import { openStore } from '../../src/stores/url.js';
import {
  describeStoreConformance,
  refreshFixture,
  sessionFixture,
  tokenLoginFixture,
  userFixture,
} from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { MONGODB_URL, uniqueName } from '../helpers/services.js';

const SKIP_REASON = !MONGODB_URL
  ? 'KEYCARD_TEST_MONGODB_URL is not set (no MongoDB server can be installed here: Debian 12 has no mongod, MongoDB’s download hosts are unreachable)'
  : undefined;

const HOUR = 3_600_000;

/** A document read around the store, to check what it stored. */
type RawDocument = { _id: string; [field: string]: unknown };

/** A store on the test server, in collections of its own (dropped by `drop`). */
function openTestStore(
  clock: ManualClock,
  options: { revocationPollIntervalMs?: number; monitorCommands?: boolean } = {},
): {
  store: MongoStore;
  /** The collection prefix of this store's collections. */
  prefix: string;
  collection(name: string): Collection<RawDocument>;
  /** Another store, with its own client, on the same collections (as another instance would open it). */
  openAnother(): MongoStore;
  drop(): Promise<void>;
} {
  const collectionPrefix = `${uniqueName('kc')}_`;
  const { monitorCommands, ...storeOptions } = options;
  // The driver reads monitorCommands from the URL too: command events for tests that inspect queries.
  const base = MONGODB_URL as string;
  const url = monitorCommands ? `${base}${base.includes('?') ? '&' : '?'}monitorCommands=true` : base;
  const open = () => new MongoStore({ url, clock, collectionPrefix, ...storeOptions });
  const store = open();
  const names = Object.values(store.collectionNames);
  const collection = (name: string) => store.client.db(store.databaseName).collection<RawDocument>(name);
  return {
    store,
    prefix: collectionPrefix,
    collection,
    openAnother: open,
    async drop() {
      for (const name of names)
        await collection(name)
          .drop()
          .catch(() => undefined);
      await store.close();
    },
  };
}

function isCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof KeycardError && error.code === code;
}

function clientFixture(clock: ManualClock, id: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    id,
    name: 'orders-service',
    scopes: ['orders:read', 'orders:write'],
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

function revocationFixture(clock: ManualClock, id: string): RevocationRecord {
  return { kind: 'login', id, at: clock.now(), expiresAt: clock.now() + HOUR };
}

/** Polls `condition` every 5 ms, failing after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// --- on a real server -----------------------------------------------------------------------------

if (SKIP_REASON === undefined) {
  describeStoreConformance('mongodb', async (clock) => {
    const test = openTestStore(clock, { revocationPollIntervalMs: 20 });
    await test.store.ensureIndexes();
    return {
      store: test.store,
      openAnother: async () => test.openAnother(),
      async reset() {
        for (const name of Object.values(test.store.collectionNames))
          await test.collection(name).deleteMany({});
      },
      // Documents of every collection: sessions and logins, users, counters, revocations, the feed, clients.
      async recordCount() {
        let count = 0;
        for (const name of Object.values(test.store.collectionNames))
          count += await test.collection(name).countDocuments({});
        return count;
      },
      close: () => test.drop(),
    };
  });
} else {
  test('store conformance: mongodb (the whole suite)', { skip: SKIP_REASON }, () => {});
}

describe('mongodb store on a real server', () => {
  test('creates the per-user and per-subject indexes, TTL indexes on purgeAt and the unique username and skeleton indexes', {
    skip: SKIP_REASON,
  }, async () => {
    const { store, collection, drop } = openTestStore(new ManualClock());
    try {
      await store.ensureIndexes();
      const names = store.collectionNames;
      const indexes = async (name: string) => (await collection(name).indexes()) as Document[];
      const sessions = await indexes(names.sessions);
      assert.ok(
        sessions.some((index) => JSON.stringify(index.key) === '{"user.id":1,"createdAt":-1,"_id":-1}'),
        'the per-user index in listing order',
      );
      const audit = await indexes(names.audit);
      for (const key of ['{"userId":1,"_id":-1}', '{"type":1,"_id":-1}']) {
        assert.ok(
          audit.some((index) => JSON.stringify(index.key) === key),
          `the audit index ${key}`,
        );
      }
      const factors = await indexes(names.factors);
      assert.ok(
        factors.some((index) => JSON.stringify(index.key) === '{"userId":1,"createdAt":1,"_id":1}'),
        'the per-user factor index in listing order',
      );
      const credential = factors.find((index) => JSON.stringify(index.key) === '{"credentialId":1}');
      assert.equal(credential?.unique, true, 'passkey credential ids are unique');
      assert.deepEqual(credential?.partialFilterExpression, { credentialId: { $type: 'string' } });
      const revocations = await indexes(names.revocations);
      assert.ok(revocations.some((index) => JSON.stringify(index.key) === '{"kind":1,"id":1}'));
      for (const name of [names.sessions, names.counters, names.revocations]) {
        const ttl = (await indexes(name)).find((index) => JSON.stringify(index.key) === '{"purgeAt":1}');
        assert.equal(ttl?.expireAfterSeconds, 0, `${name} has a TTL index on purgeAt`);
      }
      const users = await indexes(names.users);
      for (const field of ['username', 'skeleton']) {
        const unique = users.find((index) => JSON.stringify(index.key) === `{"${field}":1}`);
        assert.equal(unique?.unique, true, `${field} is unique`);
      }
      assert.equal(
        Object.values(names).some((name) => name.endsWith('refresh_tokens')),
        false,
      );
      await store.ensureIndexes(); // idempotent on a second open
    } finally {
      await drop();
    }
  });

  test('purgeAt follows the store’s clock, and touches move it with the expiry', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock(); // months behind the server's clock: TTL must not see its sessions as dead
    const { store, collection, drop } = openTestStore(clock);
    try {
      const record = sessionFixture(clock);
      await store.createLogin(record);
      const purgeAt = async () =>
        (await collection(store.collectionNames.sessions).findOne({ _id: record.id }))?.purgeAt as Date;
      const first = (await purgeAt()).getTime();
      assert.ok(Math.abs(first - (Date.now() + HOUR)) < 60_000, 'purgeAt is an hour of wall-clock time away');
      await store.touchLogin(record.id, record.lastActiveAt + 1000, record.expiresAt + HOUR);
      const second = (await purgeAt()).getTime();
      assert.ok(second - first > HOUR - 60_000, 'the touch moved purgeAt by about an hour');
      const revocation = {
        kind: 'login' as const,
        id: record.id,
        at: clock.now(),
        expiresAt: clock.now() + HOUR,
      };
      await store.addRevocation(revocation);
      const stored = await collection(store.collectionNames.revocations).findOne({ id: record.id });
      assert.ok(stored, 'the revocation is stored');
      const revocationPurgeAt = (stored.purgeAt as Date).getTime();
      assert.ok(Math.abs(revocationPurgeAt - (Date.now() + HOUR)) < 60_000, 'a revocation’s purgeAt too');
    } finally {
      await drop();
    }
  });

  test('data keys that are no valid field names round-trip and patch like applyPatch', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock();
    const { store, drop } = openTestStore(clock);
    try {
      const data: SessionData = JSON.parse(
        '{"a.b": 1, "$where": "x", "": [null], " ": {"$set": {".": true}}, "__proto__": {"p": 1}, "constructor": 2, "é": "ü"}',
      );
      const record = sessionFixture(clock, { data });
      await store.createLogin(record);
      assert.deepEqual((await store.getLogin(record.id))?.data, data);
      const patch = {
        set: JSON.parse('{"$where": {"$gt": 1}, "new.key": "$literal", "__proto__": 3, "gone": 1}'),
        unset: ['a.b', '', 'gone'],
      };
      assert.equal(await store.patchLoginData(record.id, patch, { maxBytes: 10_000 }), 'ok');
      const loaded = await store.getLogin(record.id);
      assert.deepEqual(loaded?.data, applyPatch(data, patch));
      assert.equal(Object.getPrototypeOf(loaded?.data), Object.prototype);
    } finally {
      await drop();
    }
  });

  test('the size limit is the byte length of the merged data’s JSON, exactly', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock();
    const { store, drop } = openTestStore(clock);
    try {
      const data = { plain: 'x', 'quo"te\n': 'é€😀', big: 'y'.repeat(100) };
      const record = sessionFixture(clock, { data });
      await store.createLogin(record);
      const patch = { set: { 'ü\u2028': ['\u0001', 1.5, { 'k"': null }] }, unset: [] };
      const bytes = Buffer.byteLength(JSON.stringify(applyPatch(data, patch)));
      assert.equal(await store.patchLoginData(record.id, patch, { maxBytes: bytes - 1 }), 'too_large');
      assert.deepEqual((await store.getLogin(record.id))?.data, data, 'nothing changed');
      assert.equal(await store.patchLoginData(record.id, patch, { maxBytes: bytes }), 'ok');
      const shrink = { set: {}, unset: ['big'] };
      const smaller = Buffer.byteLength(JSON.stringify(applyPatch(applyPatch(data, patch), shrink)));
      assert.equal(await store.patchLoginData(record.id, shrink, { maxBytes: smaller }), 'ok');
      assert.equal(
        await store.patchLoginData(record.id, { set: {}, unset: [] }, { maxBytes: 2 }),
        'too_large',
      );
    } finally {
      await drop();
    }
  });

  test('a too-large patch with a touch changes neither data nor activity', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock();
    const { store, drop } = openTestStore(clock);
    try {
      const record = sessionFixture(clock, { data: { a: 1 } });
      await store.createLogin(record);
      const touch = { lastActiveAt: record.lastActiveAt + 5000, expiresAt: record.expiresAt + 5000 };
      const result = await store.patchLoginData(
        record.id,
        { set: { b: 'z'.repeat(50) }, unset: [] },
        { maxBytes: 20, touch },
      );
      assert.equal(result, 'too_large');
      assert.deepEqual(await store.getLogin(record.id), record);
    } finally {
      await drop();
    }
  });

  // guards: a rotation that leaves a document behind, or a loser's state overwriting the winner's
  test('concurrent rotations leave one login document holding the winner’s state, and nothing else', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock();
    const { store, collection, drop } = openTestStore(clock);
    try {
      const login = tokenLoginFixture(clock);
      await store.createLogin(login);
      const state = login.refresh as NonNullable<typeof login.refresh>;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.advanceRefresh(
            login.id,
            0,
            { ...state, generation: 1, rotatedAt: clock.now() + i, rotationsInWindow: i + 1 },
            { lastActiveAt: clock.now() + i, expiresAt: login.expiresAt + HOUR },
          ),
        ),
      );
      const winners = results.filter((result) => result !== null);
      assert.equal(winners.length, 1);
      const documents = await collection(store.collectionNames.sessions).find({}).toArray();
      assert.equal(documents.length, 1, 'one document per login, whatever the rotations');
      const [stored] = documents;
      assert.ok(stored);
      assert.deepEqual(stored.refresh, winners[0]?.refresh, 'the winner’s state, as a subdocument');
      const purgeAt = (stored.purgeAt as Date).getTime();
      assert.ok(purgeAt - Date.now() > HOUR, 'purgeAt followed the touch’s later expiry');
      for (const [key, name] of Object.entries(store.collectionNames)) {
        if (key !== 'sessions') assert.equal(await collection(name).countDocuments({}), 0, name);
      }
    } finally {
      await drop();
    }
  });

  // guards: a page of a user's logins read by scanning (or sorting) all of them (issue 12, point 7)
  test('a page of a user’s logins is one walk of the per-user index, stopped by the limit', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock(Date.now());
    const { store, collection, drop } = openTestStore(clock, { monitorCommands: true });
    const finds: Document[] = [];
    store.client.on('commandStarted', (event) => {
      if (event.commandName === 'find' && event.command.find === store.collectionNames.sessions)
        finds.push(event.command);
    });
    try {
      const created = Array.from({ length: 400 }, (_, i) =>
        toSessionDocument(
          sessionFixture(clock, { createdAt: clock.now() - Math.floor(i / 2) }),
          new Date(Date.now() + HOUR),
        ),
      );
      await store.ensureIndexes();
      await collection(store.collectionNames.sessions).insertMany(created as unknown as RawDocument[]);
      const first = await store.listUserLogins('user-1', { limit: 10 });
      const last = first[first.length - 1];
      assert.ok(last);
      const page = await store.listUserLogins('user-1', {
        limit: 10,
        after: { createdAt: last.createdAt, id: last.id },
      });
      assert.equal(page.length, 10);
      const command = finds.at(-1);
      assert.ok(command, 'the page was one find');
      const explained = await store.client.db(store.databaseName).command({
        explain: { find: command.find, filter: command.filter, sort: command.sort, limit: command.limit },
        verbosity: 'executionStats',
      });
      const plan = JSON.stringify(explained.queryPlanner.winningPlan);
      assert.ok(plan.includes('user_id_created_at_id'), `the per-user index is used: ${plan}`);
      assert.ok(!plan.includes('"SORT"'), `no in-memory sort: ${plan}`);
      const examined = explained.executionStats.totalKeysExamined as number;
      assert.ok(examined <= 13, `${examined} index keys examined for a page of 10 of 400`);
    } finally {
      await drop();
    }
  });

  test('a database from before refresh state and skeletons is brought up to date at open', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock(Date.now());
    const { store, prefix, collection, openAnother, drop } = openTestStore(clock);
    const other = openAnother();
    try {
      const names = store.collectionNames;
      const legacyTokens = collection(`${prefix}refresh_tokens`);
      await legacyTokens.createIndex({ purgeAt: 1 }, { name: 'purge_at_ttl', expireAfterSeconds: 0 });
      await legacyTokens.insertOne({ _id: 'old-token', purgeAt: new Date(Date.now() + HOUR) });
      const sessions = collection(names.sessions);
      await sessions.createIndex({ 'user.id': 1, createdAt: 1 }, { name: 'user_id_created_at' });
      const legacyLogin = toSessionDocument(sessionFixture(clock), new Date(Date.now() + HOUR));
      const { refresh: _, ...withoutRefresh } = legacyLogin;
      await sessions.insertOne(withoutRefresh as unknown as RawDocument);
      // Three users as an earlier keycard wrote them (no skeleton); two of them look alike: one
      // precomposed é, one e + combining acute (no canonical name has the second form; it stands in for any
      // two names that a skeleton maps together).
      const [early, late] = ['caf\u00e9', 'cafe\u0301'];
      assert.equal(usernameSkeleton(early as string), usernameSkeleton(late as string), 'they do look alike');
      const legacy = [
        userFixture(clock, { username: 'erin', createdAt: clock.now() - 3000 }),
        userFixture(clock, { username: late, createdAt: clock.now() - 1000 }),
        userFixture(clock, { username: early, createdAt: clock.now() - 2000, id: 'zz-sorts-after' }),
      ];
      await collection(names.users).insertMany(
        legacy.map((user) => {
          const { skeleton: _, ...document } = toUserDocument(user);
          return document as unknown as RawDocument;
        }),
      );
      await Promise.all([store.ensureIndexes(), other.ensureIndexes()]); // two instances at once
      assert.equal(
        (
          await store.client
            .db(store.databaseName)
            .listCollections({ name: `${prefix}refresh_tokens` })
            .toArray()
        ).length,
        0,
        'the refresh-token collection is dropped',
      );
      const sessionIndexes = (await sessions.indexes()).map((index) => index.name);
      assert.ok(!sessionIndexes.includes('user_id_created_at'), 'the old per-user index is dropped');
      assert.ok(sessionIndexes.includes('user_id_created_at_id'));
      assert.equal(
        (await store.getLogin(legacyLogin._id))?.refresh,
        null,
        'an old login has no refresh state',
      );
      const [erin, later, earlier] = legacy as [(typeof legacy)[0], (typeof legacy)[0], (typeof legacy)[0]];
      assert.equal((await store.getUserById(erin.id))?.skeleton, usernameSkeleton('erin'));
      assert.equal(
        (await store.getUserById(earlier.id))?.skeleton,
        usernameSkeleton(early as string),
        'the earlier one (by createdAt, though its id sorts last) keeps the skeleton',
      );
      assert.equal((await store.getUserById(later.id))?.skeleton, `#legacy:${later.id}`, 'the later one');
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'erin2', skeleton: usernameSkeleton('erin') })),
        isCode('username_taken'),
        'the skeleton index holds',
      );
      // Opening again changes nothing.
      const reopened = openAnother();
      await reopened.ensureIndexes();
      await reopened.close();
      assert.equal((await store.getUserById(later.id))?.skeleton, `#legacy:${later.id}`);
    } finally {
      await other.close();
      await collection(`${prefix}refresh_tokens`)
        .drop()
        .catch(() => undefined);
      await drop();
    }
  });

  test('a refresh_tokens collection without keycard’s TTL index is not dropped (an empty prefix may share a database)', {
    skip: SKIP_REASON,
  }, async () => {
    const { store, prefix, collection, drop } = openTestStore(new ManualClock());
    const foreign = collection(`${prefix}refresh_tokens`);
    try {
      await foreign.insertOne({ _id: 'someone-elses' });
      await store.ensureIndexes();
      assert.equal(await foreign.countDocuments({}), 1);
    } finally {
      await foreign.drop().catch(() => undefined);
      await drop();
    }
  });

  test('the feed document counts every revocation and keeps the latest FEED_LENGTH, in order', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock(Date.now());
    const { store, collection, drop } = openTestStore(clock);
    try {
      const records = Array.from({ length: FEED_LENGTH + 3 }, (_, i) =>
        revocationFixture(clock, `login-${i}`),
      );
      for (const record of records) await store.addRevocation(record);
      const feed = (await collection(store.collectionNames.revocationFeed).findOne({
        _id: FEED_ID,
      })) as unknown as RevocationFeedDocument;
      assert.equal(feed.seq, records.length);
      assert.equal(typeof feed.epoch, 'string');
      assert.deepEqual(feed.entries, records.slice(-FEED_LENGTH));
      assert.equal((await store.listRevocations(clock.now())).length, records.length, 'all stored');
    } finally {
      await drop();
    }
  });

  // guards: two writers publishing at once must not let a poller skip one (a counter then an insert would)
  test('revocations published concurrently by two instances each reach a subscriber exactly once', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock(Date.now());
    const { store, openAnother, drop } = openTestStore(clock, { revocationPollIntervalMs: 10 });
    const other = openAnother();
    const received: RevocationRecord[] = [];
    const states: string[] = [];
    const subscription = await store.subscribeRevocations({
      revoked: (record) => received.push(record),
      status: (state) => states.push(state),
    });
    try {
      await waitFor(() => states.includes('up'), 'status up');
      const records = Array.from({ length: 40 }, (_, i) => revocationFixture(clock, `race-${i}`));
      await Promise.all(records.map((record, i) => (i % 2 ? other : store).addRevocation(record)));
      await waitFor(() => received.length >= records.length, 'every revocation');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(received.map((r) => r.id).sort(), records.map((r) => r.id).sort());
      assert.deepEqual(states, ['up'], 'delivered by the feed, not by a reload');
    } finally {
      await subscription.close();
      await other.close();
      await drop();
    }
  });

  // guards: a field the update does not name being overwritten (the driver stores undefined as null)
  test('a client update sets only what it names, clears what is null, and never creates a client', {
    skip: SKIP_REASON,
  }, async () => {
    const clock = new ManualClock();
    const { store, collection, drop } = openTestStore(clock);
    try {
      const record = clientFixture(clock, 'kc_overlap', {
        previousSecretHash: 'old-hash',
        previousSecretExpiresAt: clock.now() + 60_000,
      });
      await store.createClient(record);
      const disabled = await store.updateClient(record.id, { disabled: true, updatedAt: clock.now() + 1 });
      assert.deepEqual(disabled, { ...record, disabled: true, updatedAt: clock.now() + 1 });
      const cleared = await store.updateClient(record.id, {
        previousSecretHash: null,
        updatedAt: clock.now() + 2,
      });
      assert.equal(cleared?.previousSecretHash, null);
      assert.equal(cleared?.previousSecretExpiresAt, record.previousSecretExpiresAt);
      assert.equal(await store.updateClient('kc_ghost', { disabled: true, updatedAt: clock.now() }), null);
      const clients = collection(store.collectionNames.clients);
      assert.equal(await clients.countDocuments({ _id: 'kc_ghost' }), 0, 'no upsert');
      assert.equal((await clients.findOne({ _id: record.id }))?.name, 'orders-service');
    } finally {
      await drop();
    }
  });

  test('a closed store fails with store_unavailable', { skip: SKIP_REASON }, async () => {
    const { store, drop } = openTestStore(new ManualClock());
    await store.ping();
    await drop();
    await assert.rejects(store.getLogin('x'), isCode('store_unavailable'));
    await assert.rejects(store.ping(), isCode('store_unavailable'));
  });
});

// --- without a server --------------------------------------------------------------------------------

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** Runs `body`, then fails if it left an unhandled rejection behind. */
async function withoutUnhandledRejections(body: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', listener);
  }
  assert.deepEqual(unhandled, []);
}

describe('mongodb store without a server', () => {
  const PASSWORD = 's3cret-Pa55';

  test('session documents survive the driver’s BSON encoding exactly (no server involved)', () => {
    const clock = new ManualClock();
    const data: SessionData = JSON.parse(
      '{"a.b": 1, "$where": {"$gt": [1.5, -0.25, 1e300]}, "": null, "__proto__": {"p": 1}, "constructor": "\\ud800"}',
    );
    for (const record of [
      sessionFixture(clock, { data }),
      sessionFixture(clock, { user: null, userAgent: null, ip: null, data: {} }),
      tokenLoginFixture(clock, {
        refresh: refreshFixture(clock, {
          generation: 2 ** 31, // past int32: BSON stores it as a double, read back as the same number
          rotationsInWindow: 3,
          revocationTTLMs: 960_000,
        }),
      }),
    ]) {
      const document = toSessionDocument(record, new Date(record.expiresAt));
      const decoded = BSON.deserialize(BSON.serialize(document)) as typeof document;
      const loaded = toSession(decoded);
      assert.deepEqual(loaded, record);
      assert.equal(Object.getPrototypeOf(loaded.data), Object.prototype);
      assert.equal(decoded.purgeAt.getTime(), record.expiresAt);
    }
  });

  test('a session document written before refresh state existed reads as a session login', () => {
    const clock = new ManualClock();
    const record = sessionFixture(clock);
    const { refresh: _, ...older } = toSessionDocument(record, new Date(record.expiresAt));
    const decoded = BSON.deserialize(BSON.serialize(older)) as ReturnType<typeof toSessionDocument>;
    assert.deepEqual(toSession(decoded), record);
  });

  test('only the contract’s refresh fields are written and read back', () => {
    const clock = new ManualClock();
    const state = refreshFixture(clock);
    const record = tokenLoginFixture(clock, {
      refresh: { ...state, extra: 'x' } as unknown as typeof state,
    });
    const document = toSessionDocument(record, new Date(record.expiresAt));
    assert.deepEqual(document.refresh, state);
    const decoded = BSON.deserialize(
      BSON.serialize({ ...document, refresh: { ...document.refresh, stray: 1 } }),
    ) as typeof document;
    assert.deepEqual(toSession(decoded).refresh, state);
  });

  test('user documents keep the skeleton and survive the driver’s BSON encoding exactly', () => {
    const clock = new ManualClock();
    for (const user of [
      userFixture(clock, { username: 'zoë' }),
      userFixture(clock, {
        passwordHash: null,
        blocked: true,
        role: 'admin',
        skeleton: `#legacy:${generateId()}`,
      }),
    ]) {
      const document = toUserDocument(user);
      assert.equal(document._id, user.id);
      assert.equal(document.skeleton, user.skeleton);
      assert.deepEqual(toUser(BSON.deserialize(BSON.serialize(document)) as typeof document), user);
    }
  });

  test('factor documents survive the driver’s BSON encoding exactly, nulls and a 32-bit counter included', () => {
    const factors: FactorRecord[] = [
      {
        id: generateId(),
        userId: 'user-1',
        kind: 'totp',
        name: 'Téléphone 🔑',
        credentialId: null,
        secret: 'v1.iv.ciphertext.tag',
        counter: 0,
        confirmedAt: null,
        createdAt: 1_767_225_600_000,
        lastUsedAt: null,
      },
      {
        id: generateId(),
        userId: 'user-1',
        kind: 'passkey',
        name: 'YubiKey',
        credentialId: generateId(),
        secret: 'x'.repeat(4096),
        counter: 4_294_967_295,
        confirmedAt: 1_767_225_600_001,
        createdAt: 1_767_225_600_000,
        lastUsedAt: 1_767_225_600_002,
      },
    ];
    for (const record of factors) {
      const document = toFactorDocument(record);
      assert.equal(document._id, record.id);
      assert.deepEqual(toFactor(BSON.deserialize(BSON.serialize(document)) as typeof document), record);
    }
  });

  test('client documents survive the driver’s BSON encoding exactly, in the prefix’s clients collection', async () => {
    const clock = new ManualClock();
    for (const record of [
      clientFixture(clock, 'kc_plain', { scopes: [] }),
      clientFixture(clock, 'kc_rotating', {
        scopes: ['a', '$b', 'c.d', ''],
        previousSecretHash: 'old',
        previousSecretExpiresAt: clock.now() + 60_000,
        generation: 7,
        disabled: true,
      }),
    ]) {
      const document = toClientDocument(record);
      assert.equal(document._id, record.id);
      assert.deepEqual(toClient(BSON.deserialize(BSON.serialize(document)) as typeof document), record);
    }
    const store = new MongoStore({ url: 'mongodb://127.0.0.1:27017/keycard', collectionPrefix: 'auth_' });
    assert.equal(store.collectionNames.clients, 'auth_clients');
    await store.close();
  });

  test('opening a URL whose server is down fails fast with store_unavailable, never echoing the password', async () => {
    const port = await closedPort();
    const url = `mongodb://keycard:${PASSWORD}@127.0.0.1:${port}/keycard?serverSelectionTimeoutMS=300&connectTimeoutMS=300`;
    await withoutUnhandledRejections(async () => {
      const started = Date.now();
      let caught: unknown;
      await openStoreURL(url, { clock: new ManualClock() }).catch((error: unknown) => {
        caught = error;
      });
      const elapsed = Date.now() - started;
      assert.ok(isCode('store_unavailable')(caught), `got ${inspect(caught)}`);
      assert.ok(elapsed < 3000, `took ${elapsed} ms`);
      assert.equal((caught as Error).message, 'the mongodb store cannot be reached');
      assert.ok(
        !inspect(caught, { depth: Number.POSITIVE_INFINITY }).includes(PASSWORD),
        'no password in the error or its cause',
      );
    });
  });

  test('the server’s store URL dispatch reaches this store and fails closed', async () => {
    const port = await closedPort();
    await withoutUnhandledRejections(async () => {
      await assert.rejects(
        openStore(`mongodb://127.0.0.1:${port}/keycard?serverSelectionTimeoutMS=200`),
        isCode('store_unavailable'),
      );
    });
  });

  test('a mongodb+srv:// name that does not resolve is store_unavailable too', async () => {
    // RFC 6761: .invalid never resolves. The driver lets Node's DNS error through; the store wraps it.
    const store = new MongoStore({
      url: `mongodb+srv://keycard:${PASSWORD}@cluster0.keycard-test.invalid/keycard?serverSelectionTimeoutMS=300`,
    });
    await withoutUnhandledRejections(async () => {
      await assert.rejects(store.ping(), isCode('store_unavailable'));
    });
    await store.close();
  });

  test('every operation on an unreachable server rejects with store_unavailable within the timeout', async () => {
    const port = await closedPort();
    const clock = new ManualClock();
    const store: Store = new MongoStore({
      url: `mongodb://127.0.0.1:${port}/keycard?serverSelectionTimeoutMS=300&connectTimeoutMS=300`,
      clock,
    });
    const record = sessionFixture(clock);
    await withoutUnhandledRejections(async () => {
      const started = Date.now();
      const results = await Promise.allSettled<unknown>([
        store.ping(),
        store.createLogin(record),
        store.getLogin(record.id),
        store.touchLogin(record.id, clock.now(), clock.now() + HOUR),
        store.patchLoginData(record.id, { set: { a: 1 }, unset: [] }, { maxBytes: 100 }),
        store.deleteLogin(record.id),
        store.listUserLogins('user-1'),
        store.listUserLogins('user-1', { limit: 5, after: { createdAt: clock.now(), id: record.id } }),
        store.countUserLogins('user-1'),
        store.countLogins?.(clock.now()),
        store.advanceRefresh(record.id, 0, refreshFixture(clock, { generation: 1 }), {
          lastActiveAt: clock.now(),
          expiresAt: clock.now() + HOUR,
        }),
        store.deleteUserLogins('user-1'),
        store.createUser(userFixture(clock)),
        store.getUserByUsername('alice'),
        store.countUsers(),
        store.incrementCounter('k', 1000, clock.now()),
        store.readCounter('k', clock.now()),
        store.releaseCounter('k', clock.now() + 1000, clock.now()),
        store.addRevocation(revocationFixture(clock, record.id)),
        store.listRevocations(clock.now()),
        store.isRevoked({ loginId: record.id, userId: 'user-1', issuedAt: clock.now() }, clock.now()),
        store.createClient(clientFixture(clock, 'kc_a')),
        store.getClient('kc_a'),
        store.listClients({ limit: 10 }),
        store.updateClient('kc_a', { disabled: true, updatedAt: clock.now() }),
        store.deleteClient('kc_a'),
      ]);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok(
          result.status === 'rejected' && isCode('store_unavailable')(result.reason),
          inspect(result),
        );
      }
      // A second round is refused as promptly: a failed index creation is retried, not cached.
      await assert.rejects(store.getLogin(record.id), isCode('store_unavailable'));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    });
    await store.close();
    await assert.rejects(store.getLogin(record.id), isCode('store_unavailable'), 'and after close');
  });

  test('a revocation feed on an unreachable server reports down once and keeps trying, never throwing', async () => {
    const port = await closedPort();
    const clock = new ManualClock();
    const store = new MongoStore({
      url: `mongodb://127.0.0.1:${port}/keycard?serverSelectionTimeoutMS=150&connectTimeoutMS=150`,
      clock,
      revocationPollIntervalMs: 10,
    });
    const states: string[] = [];
    let reads = 0;
    await withoutUnhandledRejections(async () => {
      const subscription = await store.subscribeRevocations({
        revoked: () => assert.fail('nothing to deliver'),
        status: (state) => states.push(state),
      });
      await waitFor(() => states.length > 0, 'a status', 3000);
      assert.deepEqual(states, ['down']);
      // The fallback a listener turns to while the feed is down fails closed, and promptly.
      const started = Date.now();
      await assert.rejects(
        store.isRevoked({ loginId: 'l', userId: 'u', issuedAt: clock.now() }, clock.now()),
        isCode('store_unavailable'),
      );
      await assert.rejects(store.addRevocation(revocationFixture(clock, 'l')), isCode('store_unavailable'));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 2000, `took ${elapsed} ms`);
      // Polling goes on (each try fails at server selection) without a second `down`.
      const spied = store as unknown as { run(operation: () => Promise<unknown>): Promise<unknown> };
      const run = spied.run.bind(store);
      spied.run = (operation) => {
        reads++;
        return run(operation);
      };
      await waitFor(() => reads >= 2, 'two more polls', 3000);
      assert.deepEqual(states, ['down']);
      await subscription.close();
    });
    await store.close();
    await assert.rejects(
      store.subscribeRevocations({ revoked() {}, status() {} }),
      isCode('store_unavailable'),
    );
  });

  test('gives server selection and connection 5-second timeouts unless the URL sets them', async () => {
    const defaults = new MongoStore({ url: 'mongodb://127.0.0.1:27017/keycard' });
    assert.equal(defaults.client.options.serverSelectionTimeoutMS, 5000);
    assert.equal(defaults.client.options.connectTimeoutMS, 5000);
    assert.equal(defaults.client.options.appName, 'keycard');
    await defaults.close();
    const given = new MongoStore({
      url: 'mongodb://127.0.0.1:27017/keycard?SERVERSELECTIONTIMEOUTMS=250&connectTimeoutMS=100&appName=mine',
    });
    assert.equal(given.client.options.serverSelectionTimeoutMS, 250);
    assert.equal(given.client.options.connectTimeoutMS, 100);
    assert.equal(given.client.options.appName, 'mine');
    await given.close();
  });

  test('takes the database from the URL’s path, else keycard; the database option wins', async () => {
    const cases: [string, string | undefined, string][] = [
      ['mongodb://127.0.0.1/accounts', undefined, 'accounts'],
      ['mongodb://127.0.0.1:27017', undefined, 'keycard'],
      ['mongodb://127.0.0.1:27017/?replicaSet=rs0', undefined, 'keycard'],
      [`mongodb://u:${encodeURIComponent('p/a@s?s')}@h1:1,h2:2/other?replicaSet=rs0`, undefined, 'other'],
      ['mongodb://127.0.0.1/accounts', 'chosen', 'chosen'],
    ];
    for (const [url, database, expected] of cases) {
      const store = new MongoStore({ url, database });
      assert.equal(store.databaseName, expected, url);
      await store.close();
    }
  });

  test('refuses misuse at construction, with messages that never echo the URL', async () => {
    const invalid = isCode('invalid_configuration');
    assert.throws(() => new MongoStore({}), invalid);
    assert.throws(
      () =>
        new MongoStore({ url: 'mongodb://h/db', client: new MongoStore({ url: 'mongodb://h/db' }).client }),
      invalid,
    );
    assert.throws(() => new MongoStore({ url: 'mongodb://h/db', collectionPrefix: 'bad$' }), invalid);
    assert.throws(() => new MongoStore({ url: 'mongodb://h/db', collectionPrefix: 'system.' }), invalid);
    assert.throws(() => new MongoStore({ url: 'mongodb://h/db', database: 'a.b' }), invalid);
    assert.throws(() => new MongoStore({ url: 'mongodb://h/db?w=0' }), invalid);
    for (const revocationPollIntervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new MongoStore({ url: 'mongodb://h/db', revocationPollIntervalMs }), invalid);
    }
    for (const url of [
      `mongodb://us/er:${PASSWORD}@h/db`,
      `mongodb://user:${PASSWORD}@h/db?noSuchOption=1`,
      `mongodb://user:${PASSWORD}@h:99999/db`,
      `mongodb+srv://user:${PASSWORD}@h.example.com:27017/db`,
    ]) {
      assert.throws(
        () => new MongoStore({ url }),
        (error) =>
          invalid(error) &&
          !inspect(error, { depth: Number.POSITIVE_INFINITY }).includes(PASSWORD) &&
          !(error as Error).message.includes('us/er'),
        url,
      );
    }
  });
});

// --- the feed poller's logic, with a scripted reader (no server: what the reader returns is given) ----

/** A feed document as `publishRevocation`'s update leaves it: `$inc` seq, `$push` with `$slice`. */
function publish(feed: RevocationFeedDocument, ...records: RevocationRecord[]): void {
  for (const record of records) {
    feed.seq += 1;
    feed.entries = [...feed.entries, { ...record }].slice(-FEED_LENGTH);
  }
}

function scriptedPoller(reader: FeedReader) {
  const received: RevocationRecord[] = [];
  const states: string[] = [];
  const poller = new RevocationPoller(
    reader,
    { revoked: (record) => received.push(record), status: (state) => states.push(state) },
    2,
  );
  return { poller, received, states };
}

describe('mongodb revocation feed poller (scripted reader)', () => {
  const clock = new ManualClock();
  const record = (id: string) => revocationFixture(clock, id);

  test('asks for the whole document to take a position, then only for one that moved past it', () => {
    assert.deepEqual(feedFilter(null), { _id: FEED_ID });
    assert.deepEqual(feedFilter({ seq: 0, epoch: null }), { _id: FEED_ID });
    assert.deepEqual(feedFilter({ seq: 7, epoch: 'e1' }), {
      _id: FEED_ID,
      $or: [{ seq: { $ne: 7 } }, { epoch: { $ne: 'e1' } }],
    });
  });

  test('reports up, then delivers what was published after its position, in order, once', async () => {
    const feed: RevocationFeedDocument = { _id: FEED_ID, seq: 0, epoch: 'e1', entries: [] };
    publish(feed, record('before'));
    const filters: unknown[] = [];
    const { poller, received, states } = scriptedPoller(async (filter) => {
      filters.push(filter);
      return structuredClone(feed);
    });
    poller.start();
    try {
      await waitFor(() => states.length > 0, 'status');
      assert.deepEqual(states, ['up']);
      publish(feed, record('a'), record('b'));
      await waitFor(() => received.length >= 2, 'two revocations');
      publish(feed, record('c'));
      await waitFor(() => received.length >= 3, 'a third');
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(
        received.map((r) => r.id),
        ['a', 'b', 'c'],
        'not the one before the position, none twice',
      );
      assert.deepEqual(received[0], record('a'));
      assert.deepEqual(states, ['up']);
      assert.deepEqual(filters.at(-1), feedFilter({ seq: 4, epoch: 'e1' }));
    } finally {
      await poller.close();
    }
  });

  test('starting before any feed document exists, it delivers the first revocations', async () => {
    let feed: RevocationFeedDocument | null = null;
    const { poller, received, states } = scriptedPoller(async () => structuredClone(feed));
    poller.start();
    try {
      await waitFor(() => states.length > 0, 'status');
      feed = { _id: FEED_ID, seq: 0, epoch: 'e1', entries: [] };
      publish(feed, record('first'), record('second'));
      await waitFor(() => received.length >= 2, 'both');
      assert.deepEqual(states, ['up']);
      assert.deepEqual(
        received.map((r) => r.id),
        ['first', 'second'],
      );
    } finally {
      await poller.close();
    }
  });

  test('falling more than the window behind makes the listener reload (down, up), never skip silently', async () => {
    const feed: RevocationFeedDocument = { _id: FEED_ID, seq: 0, epoch: 'e1', entries: [] };
    let paused = false;
    const { poller, received, states } = scriptedPoller(async () => {
      while (paused) await new Promise((resolve) => setTimeout(resolve, 1));
      return structuredClone(feed);
    });
    poller.start();
    try {
      await waitFor(() => states.length > 0, 'status');
      paused = true;
      publish(feed, ...Array.from({ length: FEED_LENGTH + 1 }, (_, i) => record(`burst-${i}`)));
      paused = false;
      await waitFor(() => states.length >= 3, 'a reload');
      assert.deepEqual(states, ['up', 'down', 'up']);
      assert.equal(received.length, 0, 'the reload brings them, not a partial delivery');
      publish(feed, record('after'));
      await waitFor(() => received.length > 0, 'the next one');
      assert.deepEqual(
        received.map((r) => r.id),
        ['after'],
      );
    } finally {
      await poller.close();
    }
  });

  test('a feed document re-created (new epoch) makes the listener reload', async () => {
    let feed: RevocationFeedDocument = { _id: FEED_ID, seq: 0, epoch: 'e1', entries: [] };
    publish(feed, record('a'), record('b'), record('c'));
    const { poller, received, states } = scriptedPoller(async () => structuredClone(feed));
    poller.start();
    try {
      await waitFor(() => states.length > 0, 'status');
      // Removed and re-created with more entries than this poller saw: the count alone cannot tell.
      feed = { _id: FEED_ID, seq: 0, epoch: 'e2', entries: [] };
      publish(feed, record('x'), record('y'), record('z'), record('w'));
      await waitFor(() => states.length >= 3, 'a reload');
      assert.deepEqual(states, ['up', 'down', 'up']);
      assert.equal(received.length, 0);
    } finally {
      await poller.close();
    }
  });

  test('a failed read reports down once; the next good one reports up, from a fresh position', async () => {
    const feed: RevocationFeedDocument = { _id: FEED_ID, seq: 0, epoch: 'e1', entries: [] };
    let failing = true;
    let failures = 0;
    const { poller, received, states } = scriptedPoller(async () => {
      if (failing) {
        failures++;
        throw new KeycardError('store_unavailable', 'the mongodb store cannot be reached');
      }
      return structuredClone(feed);
    });
    await withoutUnhandledRejections(async () => {
      poller.start();
      try {
        await waitFor(() => failures >= 3, 'three failed polls');
        assert.deepEqual(states, ['down']);
        publish(feed, record('while-down')); // the listener's reload after `up` brings it
        failing = false;
        await waitFor(() => states.length >= 2, 'up');
        assert.deepEqual(states, ['down', 'up']);
        publish(feed, record('after'));
        await waitFor(() => received.length > 0, 'the next one');
        assert.deepEqual(
          received.map((r) => r.id),
          ['after'],
        );
        failing = true;
        await waitFor(() => states.length >= 3, 'down again');
        assert.deepEqual(states, ['down', 'up', 'down']);
      } finally {
        await poller.close();
      }
    });
  });

  test('after close nothing is reported, not even from a read that was in flight', async () => {
    const feed: RevocationFeedDocument = { _id: FEED_ID, seq: 0, epoch: 'e1', entries: [] };
    let release: (() => void) | undefined;
    let reads = 0;
    const { poller, received, states } = scriptedPoller(async () => {
      reads++;
      if (reads === 2) await new Promise<void>((resolve) => (release = resolve));
      return structuredClone(feed);
    });
    poller.start();
    await waitFor(() => release !== undefined, 'a read in flight');
    publish(feed, record('late'));
    await poller.close();
    release?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(states, ['up']);
    assert.deepEqual(received, []);
    assert.equal(reads, 2, 'no poll after close');
    // A first read that fails after close: no `down` either.
    let fail: ((error: Error) => void) | undefined;
    const failing = scriptedPoller(() => new Promise((_, reject) => (fail = reject)));
    failing.poller.start();
    await waitFor(() => fail !== undefined, 'a read in flight');
    await failing.poller.close();
    fail?.(new KeycardError('store_unavailable', 'the mongodb store cannot be reached'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(failing.states, []);
  });
});
