import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  createLoginRegistry,
  type LoginPolicy,
  type LoginRegistry,
  type NewLogin,
} from '../../src/core/logins/registry.js';
import { generateId, generateToken, hashToken, isWellFormedToken } from '../../src/core/random-tokens.js';
import type {
  AuthUser,
  LoginPageOptions,
  LoginRecord,
  RevocationRecord,
  Store,
} from '../../src/core/store.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { refreshFixture, tokenLoginFixture } from '../conformance/fixtures.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { expectKeycardError, rejected } from './support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A login as the jwt and hybrid strategies create it (a random id, refresh state), stored. */
async function tokenLogin(store: Store, clock: ManualClock, user: AuthUser): Promise<LoginRecord> {
  const now = clock.now();
  const record = tokenLoginFixture(clock, {
    user,
    absoluteExpiresAt: now + 8 * HOUR,
    userAgent: null,
    ip: null,
    refresh: refreshFixture(clock, { revocationTTLMs: 16 * MINUTE }),
  });
  await store.createLogin(record);
  return record;
}

/**
 * `store`, with `then(userId)` run right after each listing of a user's logins and before the listing is
 * returned: another request's work at a chosen moment, through the real store.
 */
function afterListing(store: Store, then: (userId: string) => Promise<void>): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'listUserLogins') return typeof value === 'function' ? value.bind(target) : value;
      return async (userId: string, page?: LoginPageOptions) => {
        const listed = await target.listUserLogins(userId, page);
        await then(userId);
        return listed;
      };
    },
  });
}
const POLICY: LoginPolicy = {
  idleTimeoutMs: 30 * MINUTE,
  absoluteTimeoutMs: 8 * HOUR,
  touchIntervalMs: 3 * MINUTE,
  maxDataBytes: 1024,
  maxLoginsPerUser: 100,
};
const ALICE: AuthUser = { id: 'user-alice', username: 'alice', role: 'user' };
const BOB: AuthUser = { id: 'user-bob', username: 'bob', role: 'user' };

interface Setup {
  clock: ManualClock;
  store: Store;
  counting: CountingStore;
  manager: LoginRegistry;
}

const tempDir = mkdtempSync(join(tmpdir(), 'keycard-core-manager-'));
const opened: Store[] = [];
after(async () => {
  for (const store of opened) await store.close();
  rmSync(tempDir, { recursive: true, force: true });
});

let files = 0;
const stores: Array<[string, (clock: ManualClock) => Store]> = [
  ['memory', (clock) => new MemoryStore({ clock, sweepIntervalMs: 3_600_000 })],
  [
    'sqlite',
    (clock) =>
      new SQLiteStore({
        path: join(tempDir, `sessions-${++files}.db`),
        clock,
        pruneIntervalMs: 0,
        fileCheckIntervalMs: 0,
      }),
  ],
];

for (const [kind, makeStore] of stores) {
  const setup = (): Setup => {
    const clock = new ManualClock();
    const store = makeStore(clock);
    opened.push(store);
    const counting = countingStore(store);
    return { clock, store, counting, manager: createLoginRegistry(counting.store, POLICY, clock) };
  };

  describe(`session manager over the ${kind} store`, () => {
    describe('create', () => {
      test('issues a fresh well-formed token and stores only its SHA-256', async () => {
        const { clock, store, manager } = setup();
        const { token, login: session } = await manager.create({
          user: ALICE,
          ip: '203.0.113.7',
          userAgent: 'UA',
        });
        assert.ok(isWellFormedToken(token));
        assert.equal(session.id, hashToken(token));
        assert.notEqual(session.id, token);
        assert.equal(await store.getLogin(token), null, 'the token itself is not a key');
        const stored = await store.getLogin(session.id);
        assert.ok(stored);
        assert.deepEqual(stored.user, ALICE);
        assert.equal(stored.createdAt, clock.now());
        assert.equal(stored.lastActiveAt, clock.now());
        assert.equal(stored.expiresAt, clock.now() + POLICY.idleTimeoutMs);
        assert.equal(stored.absoluteExpiresAt, clock.now() + POLICY.absoluteTimeoutMs);
        assert.deepEqual(stored.data, {});
        assert.equal(stored.ip, '203.0.113.7');
        assert.equal(stored.userAgent, 'UA');
        assert.equal(JSON.stringify(stored).includes(token), false);
      });

      test('never reuses a token or id given in its input', async () => {
        const { manager } = setup();
        const planted = generateToken();
        const input = { user: null, token: planted, id: hashToken(planted) } as NewLogin;
        const first = await manager.create(input);
        const second = await manager.create(input);
        for (const { token, login: session } of [first, second]) {
          assert.notEqual(token, planted);
          assert.notEqual(session.id, hashToken(planted));
        }
        assert.notEqual(first.token, second.token);
        assert.equal((await manager.validate(planted)).ok, false);
      });

      test('keeps a bounded prefix of the user agent', async () => {
        const { manager } = setup();
        const { login: session } = await manager.create({ user: null, userAgent: 'x'.repeat(1000) });
        assert.equal(session.userAgent?.length, 256);
      });

      test('refuses data over the size limit before any write', async () => {
        const { counting, manager } = setup();
        const error = await rejected(() => manager.create({ user: null, data: { blob: 'x'.repeat(2000) } }));
        expectKeycardError(error, 'session_data_too_large');
        assert.equal(counting.writes(), 0);
      });
    });

    describe('validate', () => {
      for (const [label, token] of [
        ['the empty string', ''],
        ['a short string', 'abc'],
        ['a token with a character too many', `${generateToken()}x`],
        ['a non-canonical token', `${generateToken().slice(0, 42)}B`],
      ]) {
        test(`answers malformed for ${label}, without reading the store`, async () => {
          const { counting, manager } = setup();
          assert.deepEqual(await manager.validate(token as string), { ok: false, reason: 'malformed' });
          assert.equal(counting.reads() + counting.writes(), 0);
        });
      }

      test('answers unknown for a well-formed token that was never issued, after one read', async () => {
        const { counting, manager } = setup();
        assert.deepEqual(await manager.validate(generateToken()), { ok: false, reason: 'unknown' });
        assert.equal(counting.counts.get('getLogin'), 1);
        assert.equal(counting.writes(), 0);
      });

      test('returns the session for its token with exactly one read', async () => {
        const { counting, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE, data: { a: 1 } });
        counting.reset();
        const result = await manager.validate(token);
        assert.ok(result.ok);
        assert.equal(result.login.id, session.id);
        assert.deepEqual(result.login.data, { a: 1 });
        assert.equal(counting.reads(), 1);
        assert.equal(counting.writes(), 0);
      });

      test('ends a session at the idle timeout and deletes its record', async () => {
        const { clock, store, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        clock.advance(POLICY.idleTimeoutMs - 1);
        assert.equal((await manager.validate(token)).ok, true);
        clock.advance(1);
        assert.deepEqual(await manager.validate(token), { ok: false, reason: 'expired' });
        assert.equal(await store.getLogin(session.id), null);
        assert.deepEqual(await manager.validate(token), { ok: false, reason: 'unknown' });
      });

      test('slides the idle expiry while the session is used', async () => {
        const { clock, manager } = setup();
        const { token } = await manager.create({ user: ALICE });
        for (let elapsed = 0; elapsed < 3 * HOUR; elapsed += 20 * MINUTE) {
          clock.advance(20 * MINUTE);
          const result = await manager.validate(token);
          assert.ok(result.ok, `still alive after ${elapsed + 20 * MINUTE} ms`);
          assert.equal(await manager.save(result.login, null), true);
        }
      });

      test('ends a session at the absolute timeout however active it is', async () => {
        const { clock, store, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        const end = session.absoluteExpiresAt;
        while (clock.now() + 20 * MINUTE < end) {
          clock.advance(20 * MINUTE);
          const result = await manager.validate(token);
          assert.ok(result.ok);
          await manager.save(result.login, null);
          assert.ok(result.login.expiresAt <= end, 'idle expiry never passes the absolute expiry');
          const stored = await store.getLogin(session.id);
          assert.ok(stored && stored.expiresAt <= end, 'nor does the stored one');
        }
        clock.advance(end - 1 - clock.now());
        assert.equal((await manager.validate(token)).ok, true);
        clock.advance(1);
        assert.deepEqual(await manager.validate(token), { ok: false, reason: 'expired' });
        assert.equal(await store.getLogin(session.id), null);
      });
    });

    describe('save', () => {
      test('writes nothing for a validation before the touch interval', async () => {
        const { clock, counting, manager } = setup();
        const { token } = await manager.create({ user: ALICE });
        clock.advance(POLICY.touchIntervalMs - 1);
        counting.reset();
        const result = await manager.validate(token);
        assert.ok(result.ok);
        assert.equal(manager.isTouchDue(result.login), false);
        assert.equal(await manager.save(result.login, null), true);
        assert.equal(counting.writes(), 0);
      });

      test('writes exactly one touchLogin once the touch interval has passed', async () => {
        const { clock, store, counting, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        clock.advance(POLICY.touchIntervalMs);
        counting.reset();
        const result = await manager.validate(token);
        assert.ok(result.ok);
        assert.equal(manager.isTouchDue(result.login), true);
        assert.equal(await manager.save(result.login, null), true);
        assert.equal(counting.writes(), 1);
        assert.equal(counting.counts.get('touchLogin'), 1);
        const stored = await store.getLogin(session.id);
        assert.equal(stored?.lastActiveAt, clock.now());
        assert.equal(stored?.expiresAt, clock.now() + POLICY.idleTimeoutMs);
        assert.equal(result.login.lastActiveAt, clock.now());
        // Now current again: the next request writes nothing.
        counting.reset();
        assert.equal(await manager.save(result.login, null), true);
        assert.equal(counting.writes(), 0);
      });

      test('a touch never rewrites session data', async () => {
        const { clock, store, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE, data: { a: 1 } });
        clock.advance(POLICY.touchIntervalMs);
        const result = await manager.validate(token);
        assert.ok(result.ok);
        result.login.data = { a: 2 };
        await manager.save(result.login, null);
        assert.deepEqual((await store.getLogin(session.id))?.data, { a: 1 });
      });

      test('writes a data patch in one patchLoginData call, without touching when not due', async () => {
        const { clock, store, counting, manager } = setup();
        const { login: session } = await manager.create({ user: ALICE, data: { a: 1, b: 2 } });
        const created = session.lastActiveAt;
        clock.advance(MINUTE);
        counting.reset();
        assert.equal(await manager.save(session, { set: { a: 10, c: 3 }, unset: ['b'] }), true);
        assert.equal(counting.writes(), 1);
        assert.equal(counting.counts.get('patchLoginData'), 1);
        const stored = await store.getLogin(session.id);
        assert.deepEqual(stored?.data, { a: 10, c: 3 });
        assert.equal(stored?.lastActiveAt, created);
        assert.deepEqual(session.data, { a: 10, c: 3 });
      });

      test('carries a due touch in the same patchLoginData write', async () => {
        const { clock, store, counting, manager } = setup();
        const { login: session } = await manager.create({ user: ALICE });
        clock.advance(POLICY.touchIntervalMs + MINUTE);
        counting.reset();
        assert.equal(await manager.save(session, { set: { a: 1 }, unset: [] }), true);
        assert.equal(counting.writes(), 1);
        assert.equal(counting.counts.get('touchLogin'), undefined);
        const stored = await store.getLogin(session.id);
        assert.deepEqual(stored?.data, { a: 1 });
        assert.equal(stored?.lastActiveAt, clock.now());
        assert.equal(stored?.expiresAt, clock.now() + POLICY.idleTimeoutMs);
      });

      test('refuses a patch over the size limit before any write', async () => {
        const { store, counting, manager } = setup();
        const { login: session } = await manager.create({ user: ALICE, data: { a: 1 } });
        counting.reset();
        const error = await rejected(() =>
          manager.save(session, { set: { blob: 'x'.repeat(2000) }, unset: [] }),
        );
        const keycardError = expectKeycardError(error, 'session_data_too_large');
        assert.match(keycardError.message, /1024 bytes/);
        assert.equal(counting.writes(), 0);
        assert.deepEqual((await store.getLogin(session.id))?.data, { a: 1 });
        assert.deepEqual(session.data, { a: 1 });
      });

      test('refuses a patch that only overflows once merged with a concurrent write', async () => {
        const { store, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        const other = await manager.validate(token);
        assert.ok(other.ok);
        assert.equal(await manager.save(other.login, { set: { first: 'x'.repeat(600) }, unset: [] }), true);
        // `session` is stale: its own check passes, the store's check after merging does not.
        const error = await rejected(() =>
          manager.save(session, { set: { second: 'y'.repeat(600) }, unset: [] }),
        );
        expectKeycardError(error, 'session_data_too_large');
        assert.deepEqual(Object.keys((await store.getLogin(session.id))?.data ?? {}), ['first']);
      });

      test('keeps both of two concurrent patches to different keys', async () => {
        const { store, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        const one = await manager.validate(token);
        const two = await manager.validate(token);
        assert.ok(one.ok && two.ok);
        await Promise.all([
          manager.save(one.login, { set: { a: 1 }, unset: [] }),
          manager.save(two.login, { set: { b: 2 }, unset: [] }),
        ]);
        assert.deepEqual((await store.getLogin(session.id))?.data, { a: 1, b: 2 });
      });

      test('returns false after destroy and does not revive the session', async () => {
        const { clock, store, manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE, data: { a: 1 } });
        assert.equal(await manager.destroy(session.id), true);
        assert.equal(await manager.save(session, { set: { a: 2 }, unset: [] }), false);
        clock.advance(POLICY.touchIntervalMs);
        await manager.save(session, null);
        await manager.save(session, { set: { b: 1 }, unset: [] });
        assert.equal(await store.getLogin(session.id), null);
        assert.deepEqual(await manager.listForUser(ALICE.id), []);
        assert.deepEqual(await manager.validate(token), { ok: false, reason: 'unknown' });
      });
    });

    describe('destroy', () => {
      test('destroy deletes once and reports whether a record was deleted', async () => {
        const { manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        assert.equal(await manager.destroy(session.id), true);
        assert.equal(await manager.destroy(session.id), false);
        assert.deepEqual(await manager.validate(token), { ok: false, reason: 'unknown' });
      });

      test('destroyForUser deletes only a session of that user', async () => {
        const { manager } = setup();
        const { token, login: session } = await manager.create({ user: ALICE });
        assert.equal(await manager.destroyForUser(BOB.id, session.id), false);
        assert.equal((await manager.validate(token)).ok, true);
        assert.equal(await manager.destroyForUser(ALICE.id, session.id), true);
        assert.equal((await manager.validate(token)).ok, false);
      });

      test('destroyAllForUser ends every session of the user except the one kept, and nobody else’s', async () => {
        const { manager } = setup();
        const a1 = await manager.create({ user: ALICE });
        const a2 = await manager.create({ user: ALICE });
        const a3 = await manager.create({ user: ALICE });
        const b1 = await manager.create({ user: BOB });
        assert.equal(await manager.destroyAllForUser(ALICE.id, { exceptId: a2.login.id }), 2);
        assert.deepEqual(
          (await manager.listForUser(ALICE.id)).map((s) => s.id),
          [a2.login.id],
        );
        assert.equal((await manager.validate(a1.token)).ok, false);
        assert.equal((await manager.validate(a3.token)).ok, false);
        assert.equal((await manager.validate(b1.token)).ok, true);
        assert.equal(await manager.destroyAllForUser(ALICE.id), 1);
        assert.deepEqual(await manager.listForUser(ALICE.id), []);
      });
    });

    describe('revocation records (token logins)', () => {
      const LIFETIME_MS = 16 * MINUTE;

      /**
       * A manager over a store where another token login of `user` is created right after the manager's
       * first listing of the user's logins — a login racing "end every other login". The concurrent login
       * goes through the real store; only its timing is chosen.
       */
      const racingSetup = (user: AuthUser) => {
        const { clock, store } = setup();
        const concurrent: string[] = [];
        const racing = afterListing(store, async (userId) => {
          if (userId === user.id && concurrent.length === 0) {
            concurrent.push((await tokenLogin(store, clock, user)).id);
          }
        });
        const manager = createLoginRegistry(racing, POLICY, clock);
        return { clock, store, manager, concurrent };
      };

      const revokedLogins = async (store: Store, now: number) =>
        (await store.listRevocations(now)).filter((r) => r.kind === 'login').map((r) => r.id);

      test('keeping one login: every login deleted is revoked, even one created while it runs', async () => {
        const { clock, store, manager, concurrent } = racingSetup(ALICE);
        const kept = await tokenLogin(store, clock, ALICE);
        const ended = [await tokenLogin(store, clock, ALICE), await tokenLogin(store, clock, ALICE)];
        const bobs = await tokenLogin(store, clock, BOB);

        const count = await manager.destroyAllForUser(ALICE.id, { exceptId: kept.id });

        const [raced] = concurrent as [string];
        const alive = new Set((await store.listUserLogins(ALICE.id)).map((s) => s.id));
        const revoked = new Set(await revokedLogins(store, clock.now()));
        assert.ok(alive.has(kept.id), 'the kept login lives');
        assert.equal(revoked.has(kept.id), false, 'the kept login is not revoked');
        for (const id of [...ended.map((e) => e.id), raced]) {
          assert.ok(alive.has(id) || revoked.has(id), 'no login is deleted without a revocation record');
        }
        for (const login of ended) assert.ok(revoked.has(login.id) && !alive.has(login.id));
        assert.equal(count, 2 + (alive.has(raced) ? 0 : 1));
        assert.ok(await store.getLogin(bobs.id), 'nobody else’s login is touched');
        // One login's revocation per login: a user-wide cut-off would end the kept login's tokens too.
        assert.equal((await store.listRevocations(clock.now())).filter((r) => r.kind === 'user').length, 0);
        const [record] = await store.listRevocations(clock.now());
        assert.equal(record?.expiresAt, clock.now() + LIFETIME_MS, 'kept as long as the login record says');
      });

      test('ending every login records each login and a user-wide cut-off, which covers a racing login', async () => {
        const { clock, store, manager, concurrent } = racingSetup(ALICE);
        const first = await tokenLogin(store, clock, ALICE);
        assert.equal(await manager.destroyAllForUser(ALICE.id), 2, 'the racing login is deleted too');
        const records = await store.listRevocations(clock.now());
        assert.deepEqual(await revokedLogins(store, clock.now()), [first.id]);
        const cutOff = records.find((r) => r.kind === 'user');
        assert.equal(cutOff?.id, ALICE.id);
        assert.equal(cutOff?.expiresAt, clock.now() + LIFETIME_MS);
        // The racing login's tokens were issued before the cut-off, so the cut-off refuses them.
        const [raced] = concurrent as [string];
        assert.equal(await store.getLogin(raced), null);
        assert.equal(
          await store.isRevoked({ loginId: raced, userId: ALICE.id, issuedAt: clock.now() }, clock.now()),
          true,
        );
      });

      test('keeping one login: a login another request ends meanwhile is not counted as ended by this one', async () => {
        const { clock, store } = setup();
        // Another request (a logout, through its own registry over the same store) ends one of the user's
        // logins right after this one's first listing: between the listing and the delete. The logout goes
        // through the real store; only its timing is chosen.
        const elsewhere = createLoginRegistry(store, POLICY, clock);
        let victim: string | null = null;
        let loggedOut: boolean | null = null;
        const racing = afterListing(store, async () => {
          if (victim !== null && loggedOut === null) loggedOut = await elsewhere.destroy(victim);
        });
        const manager = createLoginRegistry(racing, POLICY, clock);
        const kept = await tokenLogin(store, clock, ALICE);
        const ended = await tokenLogin(store, clock, ALICE);
        victim = (await tokenLogin(store, clock, ALICE)).id;

        const count = await manager.destroyAllForUser(ALICE.id, { exceptId: kept.id });

        assert.equal(loggedOut, true, 'the other request ended the login');
        assert.equal(count, 1, 'only the login this call deleted is counted');
        assert.deepEqual(
          (await store.listUserLogins(ALICE.id)).map((login) => login.id),
          [kept.id],
        );
        const revoked = new Set(await revokedLogins(store, clock.now()));
        assert.ok(revoked.has(ended.id) && revoked.has(victim), 'both ended logins are revoked');
      });

      /** The manager over `store`, and the names of the store methods it calls, in order. */
      const tracedManager = (store: Store, clock: ManualClock) => {
        const calls: string[] = [];
        const traced = new Proxy(store, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              calls.push(String(property));
              return value.apply(target, args);
            };
          },
        });
        return { calls, manager: createLoginRegistry(traced, POLICY, clock) };
      };
      const writesOf = (calls: string[]) => calls.filter((name) => /^(add|delete)/.test(name));

      // guards: blocking a user wrote one revocation per round trip (issue 15: ≈ 2,100/s on PostgreSQL)
      test('ending every login stores all the revocations in one batch, before the delete', async () => {
        const { clock, store } = setup();
        const logins = [];
        for (let i = 0; i < 30; i++) logins.push(await tokenLogin(store, clock, ALICE));
        const { calls, manager } = tracedManager(store, clock);
        assert.equal(await manager.destroyAllForUser(ALICE.id), 30);
        // A store without the batch gets one addRevocation per record (memory); all before the delete.
        const expected = store.addRevocations ? ['addRevocations'] : Array(31).fill('addRevocation');
        assert.deepEqual(writesOf(calls), [...expected, 'deleteUserLogins']);
        const revoked = new Set(await revokedLogins(store, clock.now()));
        for (const login of logins) assert.ok(revoked.has(login.id), 'every login is revoked');
        const users = (await store.listRevocations(clock.now())).filter((r) => r.kind === 'user');
        assert.deepEqual(
          users.map((r) => r.id),
          [ALICE.id],
        );
      });

      test('keeping one login: the others are revoked in one batch before any is deleted', async () => {
        const { clock, store } = setup();
        const kept = await tokenLogin(store, clock, ALICE);
        for (let i = 0; i < 20; i++) await tokenLogin(store, clock, ALICE);
        const { calls, manager } = tracedManager(store, clock);
        assert.equal(await manager.destroyAllForUser(ALICE.id, { exceptId: kept.id }), 20);
        const expected = store.addRevocations ? ['addRevocations'] : Array(20).fill('addRevocation');
        assert.deepEqual(writesOf(calls), [...expected, ...Array(20).fill('deleteLogin')]);
        assert.equal((await revokedLogins(store, clock.now())).length, 20);
      });

      test('session-strategy logins need no revocation: ending them writes none', async () => {
        const { clock, store, manager } = setup();
        const a = await manager.create({ user: ALICE });
        await manager.create({ user: ALICE });
        assert.equal(await manager.destroy(a.login.id), true);
        assert.equal(await manager.destroyAllForUser(ALICE.id), 1);
        assert.deepEqual(await store.listRevocations(clock.now()), []);
      });

      // guards: a replayed logout wrote a revocation row per call (issue 12, point 6)
      test('ending a login that has already ended writes nothing', async () => {
        const { clock, store, counting, manager } = setup();
        const login = await tokenLogin(store, clock, ALICE);
        assert.equal(await manager.destroy(login.id), true);
        assert.equal((await store.listRevocations(clock.now())).length, 1);
        counting.reset();
        for (let i = 0; i < 50; i++) assert.equal(await manager.destroy(login.id), false);
        assert.equal((await store.listRevocations(clock.now())).length, 1, 'no new revocation');
        assert.deepEqual([...counting.counts.keys()], ['getLogin'], 'one read each, no write');
        assert.equal(await manager.destroyForUser(ALICE.id, login.id), false);
        assert.equal((await store.listRevocations(clock.now())).length, 1);
      });
    });

    describe('the per-user limit and pages', () => {
      test('a login beyond the limit ends the oldest, which is revoked like any other', async () => {
        const { clock, store } = setup();
        const manager = createLoginRegistry(store, { ...POLICY, maxLoginsPerUser: 3 }, clock);
        const created = [];
        for (let i = 0; i < 5; i++) {
          clock.advance(1000);
          created.push((await manager.create({ user: ALICE })).login);
        }
        await manager.create({ user: BOB });
        const ended = await manager.enforceLimit(ALICE.id);
        assert.deepEqual(
          ended.map((login) => login.id),
          [created[1]?.id, created[0]?.id],
          'the two oldest',
        );
        assert.deepEqual(
          (await manager.listForUser(ALICE.id)).map((login) => login.id),
          [created[4]?.id, created[3]?.id, created[2]?.id],
        );
        assert.deepEqual(await manager.enforceLimit(ALICE.id), [], 'nothing more to end');
        assert.equal((await manager.listForUser(BOB.id)).length, 1);
      });

      test('pages follow one another with the cursor and end with next = null', async () => {
        const { clock, manager } = setup();
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          clock.advance(1000);
          ids.unshift((await manager.create({ user: ALICE })).login.id);
        }
        const first = await manager.listPage(ALICE.id, { limit: 3 });
        assert.deepEqual(
          first.logins.map((login) => login.id),
          ids.slice(0, 3),
        );
        assert.ok(first.next);
        const second = await manager.listPage(ALICE.id, { limit: 3, cursor: first.next });
        assert.deepEqual(
          second.logins.map((login) => login.id),
          ids.slice(3, 6),
        );
        const third = await manager.listPage(ALICE.id, { limit: 3, cursor: second.next ?? '' });
        assert.deepEqual(
          third.logins.map((login) => login.id),
          ids.slice(6),
        );
        assert.equal(third.next, null);
      });

      test('a cursor the API did not return is a 400, before any store read', async () => {
        const { counting, manager } = setup();
        counting.reset();
        for (const cursor of [
          '',
          'not base64!',
          Buffer.from('1.2.3').toString('base64url'),
          'x'.repeat(300),
        ]) {
          expectKeycardError(
            await rejected(() => manager.listPage(ALICE.id, { limit: 3, cursor })),
            'invalid_request',
          );
        }
        assert.equal(counting.counts.size, 0);
      });
    });
  });
}

describe('login registry: what ending a login records (memory store)', () => {
  const LIFETIME_MS = 16 * MINUTE;
  const setupWithHook = () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 3_600_000 });
    opened.push(store);
    const heard: RevocationRecord[] = [];
    const manager = createLoginRegistry(store, POLICY, clock, (record) => heard.push(record));
    return { clock, store, manager, heard };
  };

  test('destroy (logout, and the family ending on refresh-token reuse) records the login’s revocation, then deletes it', async () => {
    const { clock, store, manager, heard } = setupWithHook();
    const login = await tokenLogin(store, clock, ALICE);
    const other = await tokenLogin(store, clock, ALICE);
    clock.advance(5000);
    assert.equal(await manager.destroy(login.id), true);
    const expected: RevocationRecord = {
      kind: 'login',
      id: login.id,
      at: clock.now(),
      expiresAt: clock.now() + LIFETIME_MS,
    };
    assert.deepEqual(await store.listRevocations(clock.now()), [expected]);
    assert.deepEqual(heard, [expected], 'the hook hears it as it is stored');
    assert.equal(await store.getLogin(login.id), null);
    assert.equal(
      await store.isRevoked({ loginId: login.id, userId: ALICE.id, issuedAt: clock.now() - 1 }, clock.now()),
      true,
    );
    assert.equal(
      await store.isRevoked({ loginId: other.id, userId: ALICE.id, issuedAt: clock.now() - 1 }, clock.now()),
      false,
      'only that login',
    );
  });

  test('destroyForUser never records a revocation for another user’s login, and records one for the user’s own', async () => {
    const { clock, store, manager, heard } = setupWithHook();
    const alices = await tokenLogin(store, clock, ALICE);
    const anonymous = await tokenLogin(store, clock, null as never);
    assert.equal(await manager.destroyForUser(BOB.id, alices.id), false);
    assert.equal(await manager.destroyForUser(BOB.id, anonymous.id), false);
    assert.equal(await manager.destroyForUser(BOB.id, 'no-such-login'), false);
    assert.deepEqual(await store.listRevocations(clock.now()), []);
    assert.deepEqual(heard, []);
    assert.ok(await store.getLogin(alices.id), 'alive');
    assert.equal(await manager.destroyForUser(ALICE.id, alices.id), true);
    assert.deepEqual(
      (await store.listRevocations(clock.now())).map((r) => [r.kind, r.id]),
      [['login', alices.id]],
    );
    assert.equal(heard.length, 1);
  });

  test('destroyAllForUser without an exception records each login and one user-wide cut-off as long as the longest', async () => {
    const { clock, store, manager, heard } = setupWithHook();
    const a = await tokenLogin(store, clock, ALICE);
    const b = await tokenLogin(store, clock, ALICE);
    const refresh = b.refresh as NonNullable<LoginRecord['refresh']>;
    await store.createLogin({
      ...b,
      id: generateId(),
      refresh: { ...refresh, revocationTTLMs: 2 * LIFETIME_MS },
    });
    await manager.create({ user: ALICE });
    assert.equal(await manager.destroyAllForUser(ALICE.id), 4);
    const records = await store.listRevocations(clock.now());
    assert.equal(
      records.filter((r) => r.kind === 'login').length,
      3,
      'the session-strategy login needs none',
    );
    assert.ok(records.some((r) => r.id === a.id) && records.some((r) => r.id === b.id));
    assert.deepEqual(
      records.filter((r) => r.kind === 'user'),
      [{ kind: 'user', id: ALICE.id, at: clock.now(), expiresAt: clock.now() + 2 * LIFETIME_MS }],
    );
    assert.equal(heard.length, 4);
  });

  test('ending only session-strategy logins records no user-wide cut-off', async () => {
    const { clock, store, manager } = setupWithHook();
    await manager.create({ user: ALICE });
    assert.equal(await manager.destroyAllForUser(ALICE.id), 1);
    assert.deepEqual(await store.listRevocations(clock.now()), []);
  });

  test('keeping one login, the listing is repeated at most 3 times, however many logins keep appearing', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 3_600_000 });
    opened.push(store);
    let listings = 0;
    const created: string[] = [];
    // Another instance creates a login for the user after every listing.
    const racing = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'listUserLogins') return typeof value === 'function' ? value.bind(target) : value;
        return async (userId: string, page?: LoginPageOptions) => {
          const listed = await target.listUserLogins(userId, page);
          listings++;
          created.push((await tokenLogin(target, clock, ALICE)).id);
          return listed;
        };
      },
    });
    const manager = createLoginRegistry(racing, POLICY, clock);
    const kept = await tokenLogin(store, clock, ALICE);
    const first = await tokenLogin(store, clock, ALICE);
    const count = await manager.destroyAllForUser(ALICE.id, { exceptId: kept.id });
    assert.equal(listings, 3, 'three passes');
    assert.equal(count, 3, 'the first login and the two created after the first two listings');
    assert.equal(await store.getLogin(first.id), null);
    assert.ok(await store.getLogin(kept.id));
    const last = created.at(-1) as string;
    assert.ok(await store.getLogin(last), 'the login created after the last listing lives on');
    const revoked = (await store.listRevocations(clock.now())).map((r) => r.id).sort();
    assert.deepEqual(revoked, [first.id, ...created.slice(0, 2)].sort());
  });

  test('data of exactly maxDataBytes is accepted, one byte more is refused, on create and on save', async () => {
    const { manager } = setupWithHook();
    const exactly = { k: 'x'.repeat(POLICY.maxDataBytes - 8) };
    assert.equal(Buffer.byteLength(JSON.stringify(exactly)), POLICY.maxDataBytes);
    const { login } = await manager.create({ user: ALICE, data: exactly });
    assert.deepEqual(login.data, exactly);
    expectKeycardError(
      await rejected(() => manager.create({ user: ALICE, data: { k: `${exactly.k}x` } })),
      'session_data_too_large',
    );
    const small = (await manager.create({ user: ALICE })).login;
    assert.equal(await manager.save(small, { set: exactly, unset: [] }), true);
    assert.deepEqual(small.data, exactly);
    expectKeycardError(
      await rejected(() => manager.save(small, { set: { k: `${exactly.k}x` }, unset: [] })),
      'session_data_too_large',
    );
  });
});

describe('login registry: edges the mutation run found (memory store)', () => {
  const setupCounting = (policy: LoginPolicy = POLICY) => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 3_600_000 });
    opened.push(store);
    const counting = countingStore(store);
    const heard: RevocationRecord[] = [];
    const manager = createLoginRegistry(counting.store, policy, clock, (record) => heard.push(record));
    return { clock, store, counting, manager, heard };
  };

  test('a cursor with anything around its base64url is refused, with the field named', async () => {
    const { manager } = setupCounting();
    for (let i = 0; i < 3; i++) await manager.create({ user: ALICE });
    const { next } = await manager.listPage(ALICE.id, { limit: 1 });
    assert.ok(next);
    assert.equal((await manager.listPage(ALICE.id, { limit: 1, cursor: next })).logins.length, 1);
    for (const cursor of [`!${next}`, `${next}!`, `${next}=`, ` ${next}`]) {
      const error = expectKeycardError(
        await rejected(() => manager.listPage(ALICE.id, { limit: 1, cursor })),
        'invalid_request',
      );
      assert.equal(error.message, 'cursor is not one this API returned');
      assert.equal(error.field, 'cursor');
    }
  });

  test('a page exactly as long as the limit that ends the list has next = null', async () => {
    const { manager } = setupCounting();
    for (let i = 0; i < 3; i++) await manager.create({ user: ALICE });
    assert.equal((await manager.listPage(ALICE.id, { limit: 3 })).next, null);
    assert.notEqual((await manager.listPage(ALICE.id, { limit: 2 })).next, null);
  });

  test('ending only session-strategy logins hears no revocation at all, not even an empty cut-off', async () => {
    const { manager, heard } = setupCounting();
    await manager.create({ user: ALICE });
    await manager.create({ user: ALICE });
    assert.equal(await manager.destroyAllForUser(ALICE.id), 2);
    assert.deepEqual(heard, []);
  });

  test('every login is read, past one batch of 500', async () => {
    const { manager } = setupCounting();
    const ids = new Set<string>();
    for (let i = 0; i < 501; i++) ids.add((await manager.create({ user: ALICE })).login.id);
    const all = await manager.listForUser(ALICE.id);
    assert.equal(all.length, 501);
    assert.deepEqual(new Set(all.map((login) => login.id)), ids);
    assert.equal(await manager.destroyAllForUser(ALICE.id, { exceptId: all[0]?.id as string }), 500);
  });

  test('a patch saved before the touch interval leaves the activity time alone', async () => {
    const { clock, manager } = setupCounting();
    const { login } = await manager.create({ user: ALICE });
    const { lastActiveAt, expiresAt } = login;
    clock.advance(POLICY.touchIntervalMs - 1);
    assert.equal(await manager.save(login, { set: { a: 1 }, unset: [] }), true);
    assert.deepEqual([login.lastActiveAt, login.expiresAt], [lastActiveAt, expiresAt]);
  });

  test('ending all but one login with nothing created meanwhile lists twice: once to end, once to find none', async () => {
    const { manager, counting } = setupCounting();
    const kept = await manager.create({ user: ALICE });
    await manager.create({ user: ALICE });
    counting.reset();
    assert.equal(await manager.destroyAllForUser(ALICE.id, { exceptId: kept.login.id }), 1);
    assert.equal(counting.counts.get('listUserLogins'), 2);
  });

  test('at the per-user limit, enforceLimit counts and reads nothing more', async () => {
    const { manager, counting } = setupCounting({ ...POLICY, maxLoginsPerUser: 3 });
    for (let i = 0; i < 3; i++) await manager.create({ user: ALICE });
    counting.reset();
    assert.deepEqual(await manager.enforceLimit(ALICE.id), []);
    assert.deepEqual(Object.fromEntries(counting.counts), { countUserLogins: 1 });
  });
});
