/**
 * The store conformance suite: every store keycard ships runs these cases against its real backend.
 * A store passes when it behaves exactly as the contract in src/core/store.ts says, including the race
 * section, which hammers one session with concurrent touches, patches and deletes.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import type {
  ClientRecord,
  RefreshTokenRecord,
  RevocationRecord,
  SessionRecord,
  Store,
  UserRecord,
} from '../../src/core/store.js';
import { generateId, generateToken, hashToken } from '../../src/core/tokens.js';
import { ManualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';

export interface StoreHarness {
  store: Store;
  /**
   * Another instance on the same backend (another process would open it the same way), for the
   * revocation feed's cross-instance delivery. Omitted where one instance is all there is (memory).
   */
  openAnother?(): Promise<Store>;
  /** Removes everything the suite wrote (tables truncated, keys deleted). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export type StoreFactory = (clock: ManualClock) => Promise<StoreHarness>;

const HOUR = 3_600_000;

export function sessionFixture(clock: ManualClock, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = clock.now();
  return {
    id: hashToken(generateToken()),
    user: { id: 'user-1', username: 'alice', role: 'user' },
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + HOUR,
    absoluteExpiresAt: now + 24 * HOUR,
    data: {},
    userAgent: 'test-agent',
    ip: '127.0.0.1',
    ...overrides,
  };
}

export function userFixture(clock: ManualClock, overrides: Partial<UserRecord> = {}): UserRecord {
  const now = clock.now();
  return {
    id: generateId(),
    username: `user-${generateId().slice(0, 8).toLowerCase()}`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
    role: 'user',
    blocked: false,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    // Real time as the starting point: stores that hand expiry to their server (Redis PEXPIREAT, TTL
    // indexes) must not see records that expired months ago.
    const clock = new ManualClock(Date.now());
    let harness: StoreHarness;
    let store: Store;

    before(async () => {
      harness = await factory(clock);
      store = harness.store;
    });
    after(async () => {
      await harness?.close();
    });
    beforeEach(async () => {
      await harness.reset();
    });

    describe('sessions', () => {
      test('returns null for an unknown session id', async () => {
        assert.equal(await store.getSession(hashToken(generateToken())), null);
      });

      test('round-trips a session record exactly', async () => {
        const record = sessionFixture(clock, { data: { cart: [1, 2], nested: { a: 'é' } } });
        await store.createSession(record);
        assert.deepEqual(await store.getSession(record.id), record);
      });

      test('round-trips an anonymous session with no user, agent or address', async () => {
        const record = sessionFixture(clock, { user: null, userAgent: null, ip: null, data: { step: 1 } });
        await store.createSession(record);
        assert.deepEqual(await store.getSession(record.id), record);
      });

      test('keeps __proto__ and constructor as plain data keys', async () => {
        const data = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
        const record = sessionFixture(clock, { data });
        await store.createSession(record);
        const loaded = await store.getSession(record.id);
        assert.ok(loaded);
        assert.equal(Object.getPrototypeOf(loaded.data), Object.prototype);
        assert.deepEqual(Object.keys(loaded.data).sort(), ['__proto__', 'constructor']);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });

      test('touch moves activity and expiry forward and never rewrites data', async () => {
        const record = sessionFixture(clock, { data: { keep: 'me' } });
        await store.createSession(record);
        await store.touchSession(record.id, record.lastActiveAt + 1000, record.expiresAt + 1000);
        const touched = await store.getSession(record.id);
        assert.equal(touched?.lastActiveAt, record.lastActiveAt + 1000);
        assert.equal(touched?.expiresAt, record.expiresAt + 1000);
        assert.deepEqual(touched?.data, { keep: 'me' });
      });

      test('touch never moves expiry backwards', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        await store.touchSession(record.id, record.lastActiveAt - 5000, record.expiresAt - 5000);
        const loaded = await store.getSession(record.id);
        assert.equal(loaded?.lastActiveAt, record.lastActiveAt);
        assert.equal(loaded?.expiresAt, record.expiresAt);
      });

      test('touch never extends past the absolute expiry', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        await store.touchSession(record.id, record.lastActiveAt, record.absoluteExpiresAt + HOUR);
        assert.equal((await store.getSession(record.id))?.expiresAt, record.absoluteExpiresAt);
      });

      test('touch of a deleted session does not bring it back', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        await store.deleteSession(record.id);
        await store.touchSession(record.id, record.lastActiveAt + 1000, record.expiresAt + 1000);
        assert.equal(await store.getSession(record.id), null);
      });

      test('patch sets and removes top-level keys and leaves the others', async () => {
        const record = sessionFixture(clock, { data: { a: 1, b: 2, c: 3 } });
        await store.createSession(record);
        const result = await store.patchSessionData(
          record.id,
          { set: { b: 20, d: { x: true } }, unset: ['c'] },
          { maxBytes: 1000 },
        );
        assert.equal(result, 'ok');
        assert.deepEqual((await store.getSession(record.id))?.data, { a: 1, b: 20, d: { x: true } });
      });

      test('patch with touch moves activity forward in the same write', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        const touch = { lastActiveAt: record.lastActiveAt + 500, expiresAt: record.expiresAt + 500 };
        assert.equal(
          await store.patchSessionData(record.id, { set: { a: 1 }, unset: [] }, { maxBytes: 1000, touch }),
          'ok',
        );
        const loaded = await store.getSession(record.id);
        assert.equal(loaded?.lastActiveAt, touch.lastActiveAt);
        assert.equal(loaded?.expiresAt, touch.expiresAt);
      });

      test('patch of a deleted session reports missing and does not bring it back', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        await store.deleteSession(record.id);
        assert.equal(
          await store.patchSessionData(record.id, { set: { late: 1 }, unset: [] }, { maxBytes: 1000 }),
          'missing',
        );
        assert.equal(await store.getSession(record.id), null);
      });

      test('patch that would exceed the size limit is refused and changes nothing', async () => {
        const record = sessionFixture(clock, { data: { a: 'x'.repeat(50) } });
        await store.createSession(record);
        const result = await store.patchSessionData(
          record.id,
          { set: { b: 'y'.repeat(100) }, unset: [] },
          { maxBytes: 120 },
        );
        assert.equal(result, 'too_large');
        assert.deepEqual((await store.getSession(record.id))?.data, { a: 'x'.repeat(50) });
      });

      test('delete removes the session and reports whether it existed', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        assert.equal(await store.deleteSession(record.id), true);
        assert.equal(await store.deleteSession(record.id), false);
        assert.equal(await store.getSession(record.id), null);
      });

      test('delete with a user id only deletes that user’s session', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        assert.equal(await store.deleteSession(record.id, { userId: 'someone-else' }), false);
        assert.ok(await store.getSession(record.id));
        assert.equal(await store.deleteSession(record.id, { userId: 'user-1' }), true);
        assert.equal(await store.getSession(record.id), null);
      });

      test('lists a user’s sessions newest first, and only theirs', async () => {
        const first = sessionFixture(clock);
        clock.advance(1000);
        const second = sessionFixture(clock);
        const other = sessionFixture(clock, { user: { id: 'user-2', username: 'bob', role: 'user' } });
        const anonymous = sessionFixture(clock, { user: null });
        for (const record of [first, second, other, anonymous]) await store.createSession(record);
        const listed = await store.listUserSessions('user-1');
        assert.deepEqual(
          listed.map((session) => session.id),
          [second.id, first.id],
        );
        assert.deepEqual(await store.listUserSessions('nobody'), []);
      });

      test('deletes all of a user’s sessions, optionally except one, and no one else’s', async () => {
        const keep = sessionFixture(clock);
        const drop1 = sessionFixture(clock);
        const drop2 = sessionFixture(clock);
        const other = sessionFixture(clock, { user: { id: 'user-2', username: 'bob', role: 'user' } });
        for (const record of [keep, drop1, drop2, other]) await store.createSession(record);
        assert.equal(await store.deleteUserSessions('user-1', { exceptId: keep.id }), 2);
        assert.deepEqual(
          (await store.listUserSessions('user-1')).map((session) => session.id),
          [keep.id],
        );
        assert.equal(await store.deleteUserSessions('user-1'), 1);
        assert.deepEqual(await store.listUserSessions('user-1'), []);
        assert.ok(await store.getSession(other.id));
      });

      test('the per-user index forgets sessions deleted one by one', async () => {
        const a = sessionFixture(clock);
        const b = sessionFixture(clock);
        await store.createSession(a);
        await store.createSession(b);
        await store.deleteSession(a.id);
        assert.deepEqual(
          (await store.listUserSessions('user-1')).map((session) => session.id),
          [b.id],
        );
        assert.equal(await store.deleteUserSessions('user-1'), 1);
      });
    });

    describe('users', () => {
      test('creates a user and finds it by id and by username', async () => {
        const user = userFixture(clock);
        await store.createUser(user);
        assert.deepEqual(await store.getUserById(user.id), user);
        assert.deepEqual(await store.getUserByUsername(user.username), user);
        assert.equal(await store.getUserByUsername('no-such-user'), null);
        assert.equal(await store.getUserById('no-such-id'), null);
      });

      test('refuses a second user with the same username', async () => {
        const user = userFixture(clock, { username: 'carol' });
        await store.createUser(user);
        await assert.rejects(
          store.createUser(userFixture(clock, { username: 'carol' })),
          (error) => error instanceof KeycardError && error.code === 'username_taken',
        );
        assert.equal(await store.countUsers(), 1);
      });

      test('updates password, role and blocked independently', async () => {
        const user = userFixture(clock);
        await store.createUser(user);
        clock.advance(1000);
        const blocked = await store.updateUser(user.id, { blocked: true, updatedAt: clock.now() });
        assert.equal(blocked?.blocked, true);
        assert.equal(blocked?.role, 'user');
        assert.equal(blocked?.passwordHash, user.passwordHash);
        assert.equal(blocked?.updatedAt, clock.now());
        const promoted = await store.updateUser(user.id, {
          role: 'admin',
          passwordHash: '$2b$new',
          updatedAt: clock.now(),
        });
        assert.equal(promoted?.role, 'admin');
        assert.equal(promoted?.passwordHash, '$2b$new');
        assert.equal(promoted?.blocked, true);
        const unblocked = await store.updateUser(user.id, { blocked: false, updatedAt: clock.now() });
        assert.equal(unblocked?.blocked, false);
        assert.deepEqual(await store.getUserById(user.id), unblocked);
      });

      test('update of an unknown user returns null', async () => {
        assert.equal(await store.updateUser('missing', { role: 'admin', updatedAt: clock.now() }), null);
      });

      test('lists users by username, page by page, and counts them', async () => {
        for (const username of ['dave', 'alice', 'carol', 'bob', 'erin']) {
          await store.createUser(userFixture(clock, { username }));
        }
        assert.equal(await store.countUsers(), 5);
        const page1 = await store.listUsers({ limit: 2 });
        assert.deepEqual(
          page1.map((user) => user.username),
          ['alice', 'bob'],
        );
        const page2 = await store.listUsers({ limit: 2, after: 'bob' });
        assert.deepEqual(
          page2.map((user) => user.username),
          ['carol', 'dave'],
        );
        const page3 = await store.listUsers({ limit: 2, after: 'dave' });
        assert.deepEqual(
          page3.map((user) => user.username),
          ['erin'],
        );
      });

      test('stores non-ASCII canonical usernames exactly', async () => {
        const user = userFixture(clock, { username: 'zoë.ångström' });
        await store.createUser(user);
        assert.equal((await store.getUserByUsername('zoë.ångström'))?.id, user.id);
      });
    });

    describe('refresh tokens', () => {
      const token = (loginId: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
        id: hashToken(generateToken()),
        loginId,
        createdAt: clock.now(),
        expiresAt: clock.now() + HOUR,
        spentAt: null,
        successorId: null,
        ...overrides,
      });
      const rotate = (presented: string, successor: RefreshTokenRecord, graceMs = 10_000) =>
        store.rotateRefreshToken(presented, {
          now: clock.now(),
          graceMs,
          successor,
          touch: { lastActiveAt: clock.now(), expiresAt: clock.now() + HOUR },
        });

      test('rotation spends the current token, issues the successor and touches the login', async () => {
        const login = sessionFixture(clock);
        await store.createSession(login);
        const first = token(login.id);
        await store.createRefreshToken(first);
        clock.advance(1000);
        const second = token('ignored');
        const result = await rotate(first.id, second);
        assert.equal(result.status, 'rotated');
        assert.equal(result.status === 'rotated' && result.login.id, login.id);
        assert.equal(result.status === 'rotated' && result.login.lastActiveAt, clock.now());
        const third = token('ignored');
        assert.equal(
          (await rotate(second.id, third)).status,
          'rotated',
          'the successor is current, in the same login',
        );
      });

      test('a spent token presented again within the grace window returns the same successor', async () => {
        const login = sessionFixture(clock);
        await store.createSession(login);
        const first = token(login.id);
        await store.createRefreshToken(first);
        const second = token(login.id);
        await rotate(first.id, second);
        clock.advance(2000);
        const again = await rotate(first.id, token(login.id));
        assert.equal(again.status, 'grace');
        assert.equal(again.status === 'grace' && again.successorId, second.id);
        assert.ok(await store.getSession(login.id), 'the login survives an honest race');
        assert.equal((await rotate(second.id, token(login.id))).status, 'rotated');
      });

      test('a spent token presented after the grace window is reuse: the whole login is revoked', async () => {
        const login = sessionFixture(clock);
        await store.createSession(login);
        const first = token(login.id);
        await store.createRefreshToken(first);
        const second = token(login.id);
        await rotate(first.id, second);
        clock.advance(10_001);
        const reused = await rotate(first.id, token(login.id));
        assert.equal(reused.status, 'reused');
        assert.equal(reused.status === 'reused' && reused.login.id, login.id);
        assert.equal(await store.getSession(login.id), null);
        assert.deepEqual(await store.listUserSessions('user-1'), []);
        assert.equal(
          (await rotate(second.id, token(login.id))).status,
          'invalid',
          'the successor died with its login',
        );
      });

      test('unknown, expired, and logged-out tokens are invalid and change nothing', async () => {
        const login = sessionFixture(clock);
        await store.createSession(login);
        assert.equal((await rotate(hashToken(generateToken()), token(login.id))).status, 'invalid');
        const expiring = token(login.id, { expiresAt: clock.now() + 100 });
        await store.createRefreshToken(expiring);
        clock.advance(100);
        assert.equal((await rotate(expiring.id, token(login.id))).status, 'invalid');
        const live = token(login.id);
        await store.createRefreshToken(live);
        await store.deleteSession(login.id);
        assert.equal((await rotate(live.id, token(login.id))).status, 'invalid');
      });

      test('concurrent rotations of one token: exactly one rotates, the others get the grace successor', async () => {
        const login = sessionFixture(clock);
        await store.createSession(login);
        const first = token(login.id);
        await store.createRefreshToken(first);
        const results = await Promise.all(Array.from({ length: 8 }, () => rotate(first.id, token(login.id))));
        const rotated = results.filter((result) => result.status === 'rotated');
        assert.equal(rotated.length, 1);
        const successors = new Set(
          results.map((result) => (result.status === 'grace' ? result.successorId : null)),
        );
        successors.delete(null);
        assert.equal(successors.size, 1, 'every racing caller is pointed at the one successor');
        assert.ok(await store.getSession(login.id));
      });

      // guards: successors are derived from the presented token, so racing callers offer the same one
      test('concurrent rotations offering the same successor leave that successor usable', async () => {
        const login = sessionFixture(clock);
        await store.createSession(login);
        const first = token(login.id);
        await store.createRefreshToken(first);
        const successor = token(login.id);
        const results = await Promise.all(
          Array.from({ length: 8 }, () => rotate(first.id, { ...successor })),
        );
        assert.equal(results.filter((result) => result.status === 'rotated').length, 1);
        assert.ok(
          results.every(
            (result) =>
              result.status === 'rotated' ||
              (result.status === 'grace' && result.successorId === successor.id),
          ),
        );
        assert.equal(
          (await rotate(successor.id, token(login.id))).status,
          'rotated',
          'the successor is current',
        );
      });
    });

    describe('counters', () => {
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
    });

    describe('revocations', () => {
      const HOUR_MS = 3_600_000;
      const login = (id: string, at = clock.now()) => ({
        kind: 'login' as const,
        id,
        at,
        expiresAt: at + HOUR_MS,
      });
      const user = (id: string, at = clock.now()) => ({
        kind: 'user' as const,
        id,
        at,
        expiresAt: at + HOUR_MS,
      });

      test('a revoked login is revoked whatever its tokens’ age; others are not', async () => {
        const sid = generateId();
        await store.addRevocation(login(sid));
        const now = clock.now();
        assert.equal(await store.isRevoked({ loginId: sid, userId: 'u', issuedAt: now + 60_000 }, now), true);
        assert.equal(await store.isRevoked({ loginId: generateId(), userId: 'u', issuedAt: 0 }, now), false);
      });

      test('a user revocation covers tokens issued at or before its time only', async () => {
        const uid = generateId();
        const at = clock.now();
        await store.addRevocation(user(uid, at));
        const query = (issuedAt: number) =>
          store.isRevoked({ loginId: generateId(), userId: uid, issuedAt }, at);
        assert.equal(await query(at - 1000), true);
        assert.equal(await query(at), true);
        assert.equal(await query(at + 1), false, 'a login after the cut-off is not revoked');
        assert.equal(
          await store.isRevoked({ loginId: generateId(), userId: generateId(), issuedAt: 0 }, at),
          false,
        );
      });

      test('expired revocations are neither listed nor applied', async () => {
        const sid = generateId();
        const record = { ...login(sid), expiresAt: clock.now() + 1000 };
        await store.addRevocation(record);
        assert.ok((await store.listRevocations(clock.now())).some((r) => r.kind === 'login' && r.id === sid));
        const later = clock.now() + 1000;
        assert.equal(
          (await store.listRevocations(later)).some((r) => r.id === sid),
          false,
        );
        assert.equal(await store.isRevoked({ loginId: sid, userId: 'u', issuedAt: 0 }, later), false);
      });

      test('lists every live revocation with its fields', async () => {
        const records = [login(generateId()), user(generateId()), login(generateId())];
        for (const record of records) await store.addRevocation(record);
        const listed = await store.listRevocations(clock.now());
        for (const record of records) {
          assert.ok(
            listed.some(
              (r) =>
                r.kind === record.kind &&
                r.id === record.id &&
                r.at === record.at &&
                r.expiresAt === record.expiresAt,
            ),
            `${record.kind} ${record.id}`,
          );
        }
      });

      test('the feed reports up, then delivers revocations made on this and on another instance', async () => {
        const received: RevocationRecord[] = [];
        const states: string[] = [];
        const subscription = await store.subscribeRevocations({
          revoked: (record) => received.push(record),
          status: (state) => states.push(state),
        });
        try {
          await eventually(() => states.includes('up'), 'status up');
          const mine = login(generateId());
          await store.addRevocation(mine);
          await eventually(() => received.some((r) => r.id === mine.id), 'our own revocation');
          const other = harness.openAnother ? await harness.openAnother() : store;
          try {
            const theirs = user(generateId());
            await other.addRevocation(theirs);
            await eventually(
              () => received.some((r) => r.id === theirs.id && r.kind === 'user' && r.at === theirs.at),
              'another instance’s revocation',
            );
          } finally {
            if (other !== store) await other.close();
          }
        } finally {
          await subscription.close();
        }
      });

      test('after close, nothing more is delivered', async () => {
        const received: RevocationRecord[] = [];
        const subscription = await store.subscribeRevocations({
          revoked: (record) => received.push(record),
          status: () => {},
        });
        await subscription.close();
        const late = login(generateId());
        await store.addRevocation(late);
        const marker = login(generateId());
        const probe: RevocationRecord[] = [];
        const second = await store.subscribeRevocations({
          revoked: (record) => probe.push(record),
          status: () => {},
        });
        try {
          await new Promise((resolve) => setTimeout(resolve, 50));
          await store.addRevocation(marker);
          await eventually(() => probe.some((r) => r.id === marker.id), 'a live subscription still works');
          assert.equal(
            received.some((r) => r.id === late.id || r.id === marker.id),
            false,
          );
        } finally {
          await second.close();
        }
      });
    });

    describe('clients', () => {
      const client = (overrides: Partial<ClientRecord> = {}): ClientRecord => ({
        id: `kc_${generateId()}`,
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
      });

      test('round-trips a client exactly; unknown ids are null', async () => {
        const record = client({ scopes: ['a', 'b:c'] });
        await store.createClient(record);
        assert.deepEqual(await store.getClient(record.id), record);
        assert.equal(await store.getClient('kc_unknown'), null);
      });

      test('refuses a second client with the same id', async () => {
        const record = client();
        await store.createClient(record);
        await assert.rejects(store.createClient({ ...record, name: 'other' }));
        assert.equal((await store.getClient(record.id))?.name, 'orders-service');
      });

      test('updates fields independently, clears with null, and reports an unknown id', async () => {
        const record = client();
        await store.createClient(record);
        clock.advance(1000);
        const rotated = await store.updateClient(record.id, {
          secretHash: 'new-hash',
          previousSecretHash: record.secretHash,
          previousSecretExpiresAt: clock.now() + 60_000,
          generation: 2,
          updatedAt: clock.now(),
        });
        assert.equal(rotated?.secretHash, 'new-hash');
        assert.equal(rotated?.previousSecretHash, record.secretHash);
        assert.equal(rotated?.generation, 2);
        assert.deepEqual(rotated?.scopes, record.scopes);
        assert.equal(rotated?.updatedAt, clock.now());
        const kept = await store.updateClient(record.id, { name: 'renamed', updatedAt: clock.now() });
        assert.equal(kept?.name, 'renamed');
        assert.equal(kept?.previousSecretHash, record.secretHash, 'a field left out of an update is kept');
        assert.equal(kept?.previousSecretExpiresAt, rotated?.previousSecretExpiresAt);
        const settled = await store.updateClient(record.id, {
          previousSecretHash: null,
          previousSecretExpiresAt: null,
          disabled: true,
          scopes: ['orders:read'],
          updatedAt: clock.now(),
        });
        assert.equal(settled?.previousSecretHash, null);
        assert.equal(settled?.previousSecretExpiresAt, null);
        assert.equal(settled?.disabled, true);
        assert.deepEqual(settled?.scopes, ['orders:read']);
        assert.equal(settled?.secretHash, 'new-hash');
        assert.deepEqual(await store.getClient(record.id), settled);
        assert.equal(
          await store.updateClient('kc_unknown', { disabled: true, updatedAt: clock.now() }),
          null,
        );
      });

      test('lists clients by id, page by page; deletes them', async () => {
        const records = ['kc_c', 'kc_a', 'kc_b'].map((id) => client({ id }));
        for (const record of records) await store.createClient(record);
        assert.deepEqual(
          (await store.listClients({ limit: 2 })).map((c) => c.id),
          ['kc_a', 'kc_b'],
        );
        assert.deepEqual(
          (await store.listClients({ limit: 2, after: 'kc_b' })).map((c) => c.id),
          ['kc_c'],
        );
        assert.equal(await store.deleteClient('kc_b'), true);
        assert.equal(await store.deleteClient('kc_b'), false);
        assert.equal(await store.getClient('kc_b'), null);
        assert.deepEqual(
          (await store.listClients({ limit: 10 })).map((c) => c.id),
          ['kc_a', 'kc_c'],
        );
      });
    });

    describe('races', () => {
      test('concurrent patches of different keys all persist', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            store.patchSessionData(record.id, { set: { [`key${i}`]: i }, unset: [] }, { maxBytes: 100_000 }),
          ),
        );
        const data = (await store.getSession(record.id))?.data ?? {};
        for (let i = 0; i < 40; i++) assert.equal(data[`key${i}`], i, `key${i} was lost`);
      });

      test('touches, patches and a delete racing on one session never revive it', async () => {
        for (let round = 0; round < 10; round++) {
          const record = sessionFixture(clock);
          await store.createSession(record);
          const operations: Promise<unknown>[] = [];
          for (let i = 0; i < 20; i++) {
            if (i === 7) operations.push(store.deleteSession(record.id));
            operations.push(store.touchSession(record.id, record.lastActiveAt + i, record.expiresAt + i));
            operations.push(
              store.patchSessionData(record.id, { set: { [`k${i}`]: i }, unset: [] }, { maxBytes: 100_000 }),
            );
          }
          await Promise.all(operations);
          assert.equal(await store.getSession(record.id), null, `round ${round}: the session came back`);
          assert.deepEqual(await store.listUserSessions('user-1'), []);
        }
      });

      test('concurrent touches leave the latest activity', async () => {
        const record = sessionFixture(clock);
        await store.createSession(record);
        const offsets = Array.from({ length: 30 }, (_, i) => (i * 7919) % 30);
        await Promise.all(
          offsets.map((offset) =>
            store.touchSession(record.id, record.lastActiveAt + offset, record.expiresAt + offset),
          ),
        );
        const loaded = await store.getSession(record.id);
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
    });
  });
}
