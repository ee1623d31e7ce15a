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
import { applyPatch } from '../../src/core/session/data.js';
import type { ClientRecord, RevocationRecord, SessionData, Store } from '../../src/core/store.js';
import { generateToken, hashToken } from '../../src/core/tokens.js';
import {
  type RevocationFeedDocument,
  toClient,
  toClientDocument,
  toSession,
  toSessionDocument,
} from '../../src/stores/mongodb/documents.js';
import { MongoStore, openStoreURL } from '../../src/stores/mongodb/index.js';
import {
  FEED_ID,
  FEED_LENGTH,
  type FeedReader,
  feedFilter,
  RevocationPoller,
} from '../../src/stores/mongodb/revocation-feed.js';
import { openStore } from '../../src/stores/url.js';
import { describeStoreConformance, sessionFixture } from '../conformance/store.js';
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
  options: { revocationPollIntervalMs?: number } = {},
): {
  store: MongoStore;
  collection(name: string): Collection<RawDocument>;
  /** Another store, with its own client, on the same collections (as another instance would open it). */
  openAnother(): MongoStore;
  drop(): Promise<void>;
} {
  const collectionPrefix = `${uniqueName('kc')}_`;
  const open = () => new MongoStore({ url: MONGODB_URL as string, clock, collectionPrefix, ...options });
  const store = open();
  const names = Object.values(store.collectionNames);
  const collection = (name: string) => store.client.db(store.databaseName).collection<RawDocument>(name);
  return {
    store,
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
      close: () => test.drop(),
    };
  });
} else {
  test('store conformance: mongodb (the whole suite)', { skip: SKIP_REASON }, () => {});
}

describe('mongodb store on a real server', () => {
  test('creates the per-user and per-subject indexes, TTL indexes on purgeAt and the unique username index', {
    skip: SKIP_REASON,
  }, async () => {
    const { store, collection, drop } = openTestStore(new ManualClock());
    try {
      await store.ensureIndexes();
      const names = store.collectionNames;
      const indexes = async (name: string) => (await collection(name).indexes()) as Document[];
      const sessions = await indexes(names.sessions);
      assert.ok(sessions.some((index) => JSON.stringify(index.key) === '{"user.id":1,"createdAt":1}'));
      const revocations = await indexes(names.revocations);
      assert.ok(revocations.some((index) => JSON.stringify(index.key) === '{"kind":1,"id":1}'));
      for (const name of [names.sessions, names.refreshTokens, names.counters, names.revocations]) {
        const ttl = (await indexes(name)).find((index) => JSON.stringify(index.key) === '{"purgeAt":1}');
        assert.equal(ttl?.expireAfterSeconds, 0, `${name} has a TTL index on purgeAt`);
      }
      const username = (await indexes(names.users)).find(
        (index) => JSON.stringify(index.key) === '{"username":1}',
      );
      assert.equal(username?.unique, true);
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
      await store.createSession(record);
      const purgeAt = async () =>
        (await collection(store.collectionNames.sessions).findOne({ _id: record.id }))?.purgeAt as Date;
      const first = (await purgeAt()).getTime();
      assert.ok(Math.abs(first - (Date.now() + HOUR)) < 60_000, 'purgeAt is an hour of wall-clock time away');
      await store.touchSession(record.id, record.lastActiveAt + 1000, record.expiresAt + HOUR);
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
      await store.createSession(record);
      assert.deepEqual((await store.getSession(record.id))?.data, data);
      const patch = {
        set: JSON.parse('{"$where": {"$gt": 1}, "new.key": "$literal", "__proto__": 3, "gone": 1}'),
        unset: ['a.b', '', 'gone'],
      };
      assert.equal(await store.patchSessionData(record.id, patch, { maxBytes: 10_000 }), 'ok');
      const loaded = await store.getSession(record.id);
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
      await store.createSession(record);
      const patch = { set: { 'ü\u2028': ['\u0001', 1.5, { 'k"': null }] }, unset: [] };
      const bytes = Buffer.byteLength(JSON.stringify(applyPatch(data, patch)));
      assert.equal(await store.patchSessionData(record.id, patch, { maxBytes: bytes - 1 }), 'too_large');
      assert.deepEqual((await store.getSession(record.id))?.data, data, 'nothing changed');
      assert.equal(await store.patchSessionData(record.id, patch, { maxBytes: bytes }), 'ok');
      const shrink = { set: {}, unset: ['big'] };
      const smaller = Buffer.byteLength(JSON.stringify(applyPatch(applyPatch(data, patch), shrink)));
      assert.equal(await store.patchSessionData(record.id, shrink, { maxBytes: smaller }), 'ok');
      assert.equal(
        await store.patchSessionData(record.id, { set: {}, unset: [] }, { maxBytes: 2 }),
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
      await store.createSession(record);
      const touch = { lastActiveAt: record.lastActiveAt + 5000, expiresAt: record.expiresAt + 5000 };
      const result = await store.patchSessionData(
        record.id,
        { set: { b: 'z'.repeat(50) }, unset: [] },
        { maxBytes: 20, touch },
      );
      assert.equal(result, 'too_large');
      assert.deepEqual(await store.getSession(record.id), record);
    } finally {
      await drop();
    }
  });

  test('concurrent rotations leave exactly one successor stored', { skip: SKIP_REASON }, async () => {
    const clock = new ManualClock();
    const { store, collection, drop } = openTestStore(clock);
    try {
      const login = sessionFixture(clock);
      await store.createSession(login);
      const first = {
        id: hashToken(generateToken()),
        loginId: login.id,
        createdAt: clock.now(),
        expiresAt: clock.now() + HOUR,
        spentAt: null,
        successorId: null,
      };
      await store.createRefreshToken(first);
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          store.rotateRefreshToken(first.id, {
            now: clock.now(),
            graceMs: 10_000,
            successor: { ...first, id: hashToken(generateToken()) },
            touch: { lastActiveAt: clock.now(), expiresAt: clock.now() + HOUR },
          }),
        ),
      );
      assert.equal(results.filter((result) => result.status === 'rotated').length, 1);
      const stored = await collection(store.collectionNames.refreshTokens)
        .find({ loginId: login.id })
        .toArray();
      assert.equal(
        stored.length,
        2,
        'the presented token and the winner’s successor; the losers removed theirs',
      );
    } finally {
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
    await assert.rejects(store.getSession('x'), isCode('store_unavailable'));
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
    ]) {
      const document = toSessionDocument(record, new Date(record.expiresAt));
      const decoded = BSON.deserialize(BSON.serialize(document)) as typeof document;
      const loaded = toSession(decoded);
      assert.deepEqual(loaded, record);
      assert.equal(Object.getPrototypeOf(loaded.data), Object.prototype);
      assert.equal(decoded.purgeAt.getTime(), record.expiresAt);
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
        store.createSession(record),
        store.getSession(record.id),
        store.touchSession(record.id, clock.now(), clock.now() + HOUR),
        store.patchSessionData(record.id, { set: { a: 1 }, unset: [] }, { maxBytes: 100 }),
        store.deleteSession(record.id),
        store.listUserSessions('user-1'),
        store.deleteUserSessions('user-1'),
        store.getUserByUsername('alice'),
        store.countUsers(),
        store.incrementCounter('k', 1000, clock.now()),
        store.readCounter('k', clock.now()),
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
      await assert.rejects(store.getSession(record.id), isCode('store_unavailable'));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    });
    await store.close();
    await assert.rejects(store.getSession(record.id), isCode('store_unavailable'), 'and after close');
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
