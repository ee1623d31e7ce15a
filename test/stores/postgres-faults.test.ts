/**
 * Fail closed and recover, on a private PostgreSQL server (never the shared one): while the server is
 * down every store operation rejects with store_unavailable — promptly, with no unhandled rejection and no
 * crash from the pool's idle connections dying — and once it is back the same store works again by itself,
 * with everything committed before the outage still there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { sessionFixture, tokenLoginFixture, userFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { until } from '../helpers/postgres-schemas.js';
import {
  createPrivatePostgres,
  type PrivatePostgres,
  privatePostgresSkipReason,
} from '../helpers/postgres-server.js';

const HOUR = 3_600_000;
const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';

const skip = privatePostgresSkipReason();

describe('postgres store: fail closed and recover (private server)', { skip }, () => {
  const clock = new ManualClock();
  let server: PrivatePostgres;
  let store: PostgresStore;
  const stray: unknown[] = [];
  const record = (error: unknown) => stray.push(error);

  before(async () => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    server = await createPrivatePostgres();
    await server.start();
    store = await PostgresStore.open({
      connectionString: server.url,
      clock,
      pruneIntervalMs: 0,
    });
  });
  after(async () => {
    await store?.close();
    await server?.destroy();
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });

  // A hang instead of a prompt rejection fails here, long before the runner's own timeout.
  test('operations reject with store_unavailable while PostgreSQL is down, then work again by themselves', {
    timeout: 30_000,
  }, async () => {
    const user = userFixture(clock);
    await store.createUser(user);
    const session = sessionFixture(clock, { data: { theme: 'dark' } });
    await store.createLogin(session);
    const login = tokenLoginFixture(clock);
    await store.createLogin(login);
    const state = login.refresh as NonNullable<typeof login.refresh>;
    const next = { ...state, generation: 1, rotatedAt: clock.now(), rotationsInWindow: 1 };
    const touch = { lastActiveAt: clock.now(), expiresAt: clock.now() + HOUR };
    const window = await store.incrementCounter('ip:127.0.0.1', 60_000, clock.now());
    await store.incrementCounter('ip:127.0.0.1', 60_000, clock.now());
    // Several idle connections in the pool when the server goes: each one's death is an 'error' event.
    await Promise.all(Array.from({ length: 6 }, () => store.getLogin(session.id)));

    await server.stop();

    const operations: [string, () => Promise<unknown>][] = [
      ['ping', () => store.ping()],
      ['getLogin', () => store.getLogin(session.id)],
      ['createLogin', () => store.createLogin(sessionFixture(clock))],
      ['touchLogin', () => store.touchLogin(session.id, clock.now() + 1, session.expiresAt + 1)],
      [
        'patchLoginData',
        () => store.patchLoginData(session.id, { set: { theme: 'light' }, unset: [] }, { maxBytes: 1000 }),
      ],
      ['deleteLogin', () => store.deleteLogin(session.id)],
      ['listUserLogins', () => store.listUserLogins('user-1')],
      ['listUserLogins (a page)', () => store.listUserLogins('user-1', { limit: 5 })],
      ['countUserLogins', () => store.countUserLogins('user-1')],
      ['countLogins', () => store.countLogins(clock.now())],
      ['getUserByUsername', () => store.getUserByUsername(user.username)],
      ['createUser', () => store.createUser(userFixture(clock))],
      ['advanceRefresh', () => store.advanceRefresh(login.id, 0, next, touch)],
      ['incrementCounter', () => store.incrementCounter('ip:127.0.0.1', 60_000, clock.now())],
      ['releaseCounter', () => store.releaseCounter('ip:127.0.0.1', window.resetAt, clock.now())],
      ['prune', () => store.prune()],
    ];
    for (const [name, operation] of operations) {
      await assert.rejects(operation(), unavailable, `${name} while the server is down`);
    }

    await server.start();
    await until(async () => {
      await store.ping();
      return true;
    }, 'the store to answer again');
    const loaded = await store.getLogin(session.id);
    assert.deepEqual(loaded, session, 'the session committed before the outage is still there');
    assert.equal((await store.getUserByUsername(user.username))?.id, user.id);
    assert.equal(
      (await store.readCounter('ip:127.0.0.1', clock.now()))?.count,
      2,
      'the release that failed took nothing back',
    );
    assert.deepEqual(await store.getLogin(login.id), login, 'the rotation that failed changed nothing');
    const rotated = await store.advanceRefresh(login.id, 0, next, touch);
    assert.deepEqual(rotated?.refresh, next, 'and the same rotation succeeds once the server is back');
    assert.equal(
      await store.patchLoginData(session.id, { set: { theme: 'light' }, unset: [] }, { maxBytes: 1000 }),
      'ok',
    );
    assert.deepEqual(stray, [], 'no unhandled rejection or uncaught exception');
  });

  test('a store opened while PostgreSQL is down fails at once with store_unavailable', {
    timeout: 30_000,
  }, async () => {
    await server.stop();
    try {
      await assert.rejects(
        PostgresStore.open({ connectionString: server.url, schema: 'other' }),
        unavailable,
      );
    } finally {
      await server.start();
    }
    assert.deepEqual(stray, []);
  });
});
