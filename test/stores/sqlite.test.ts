import assert from 'node:assert/strict';
import { renameSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { KeycardError } from '../../src/core/errors.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { COUNT_LIVE_LOGINS } from '../../src/stores/sqlite/logins.js';
import {
  describeStoreConformance,
  sessionFixture,
  tokenLoginFixture,
  userFixture,
} from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { sqliteHarness } from '../helpers/sqlite-conformance.js';
import { tempSQLiteFile } from '../helpers/sqlite-file.js';

describeStoreConformance('sqlite', sqliteHarness);

test('sqlite store prunes sessions past idle or absolute expiry', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, pruneIntervalMs: 0 });
  try {
    const idle = sessionFixture(clock, { expiresAt: clock.now() + 1000 });
    const absolute = sessionFixture(clock, { absoluteExpiresAt: clock.now() + 1000 });
    const live = sessionFixture(clock);
    for (const record of [idle, absolute, live]) await store.createLogin(record);
    clock.advance(1000);
    assert.equal(store.prune(), 2);
    assert.ok(await store.getLogin(live.id));
    assert.equal(await store.getLogin(idle.id), null);
  } finally {
    await store.close();
    file.cleanup();
  }
});

test('sqlite store reports store_unavailable while another connection holds the write lock, then recovers', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, busyTimeoutMs: 20 });
  const record = sessionFixture(clock);
  const login = tokenLoginFixture(clock);
  await store.createLogin(record);
  await store.createLogin(login);
  const counter = await store.incrementCounter('login:alice', 60_000, clock.now());
  const state = login.refresh as NonNullable<typeof login.refresh>;
  const advance = () =>
    store.advanceRefresh(
      login.id,
      0,
      { ...state, generation: 1 },
      { lastActiveAt: clock.now() + 1, expiresAt: login.expiresAt + 1 },
    );
  const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';
  const locker = new Database(file.path);
  try {
    locker.exec('BEGIN IMMEDIATE');
    // Every kind of write fails closed: one statement, the compare-and-set, and a transaction.
    await assert.rejects(store.touchLogin(record.id, clock.now() + 1, record.expiresAt + 1), unavailable);
    await assert.rejects(advance(), unavailable, 'advanceRefresh');
    await assert.rejects(store.releaseCounter('login:alice', counter.resetAt, clock.now()), unavailable);
    await assert.rejects(store.createUser(userFixture(clock)), unavailable, 'createUser');
    await assert.rejects(
      store.patchLoginData(record.id, { set: { a: 1 }, unset: [] }, { maxBytes: 100 }),
      unavailable,
    );
    locker.exec('COMMIT');
    await store.touchLogin(record.id, clock.now() + 1, record.expiresAt + 1);
    assert.equal((await store.getLogin(record.id))?.expiresAt, record.expiresAt + 1);
    assert.equal((await advance())?.refresh?.generation, 1, 'the refused refresh changed nothing');
    await store.releaseCounter('login:alice', counter.resetAt, clock.now());
    assert.equal((await store.readCounter('login:alice', clock.now()))?.count, 0);
  } finally {
    locker.close();
    await store.close();
    file.cleanup();
  }
});

test('sqlite store reports store_unavailable when its file is moved away, and recovers when it is back', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, fileCheckIntervalMs: 0 });
  const record = sessionFixture(clock);
  await store.createLogin(record);
  const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';
  try {
    renameSync(file.path, `${file.path}.moved`);
    await assert.rejects(store.ping(), unavailable);
    await assert.rejects(store.getLogin(record.id), unavailable, 'a read after the check fails too');
    renameSync(`${file.path}.moved`, file.path);
    await store.ping();
    assert.equal((await store.getLogin(record.id))?.id, record.id);
  } finally {
    await store.close();
    file.cleanup();
  }
});

test('sqlite store reopens a file replaced at its path (restored from a backup)', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, fileCheckIntervalMs: 0 });
  const before = sessionFixture(clock);
  await store.createLogin(before);
  const backup = `${file.path}.backup`;
  await new Database(file.path).backup(backup);
  const after = sessionFixture(clock);
  await store.createLogin(after);
  try {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file.path + suffix, { force: true });
    renameSync(backup, file.path);
    await store.ping();
    assert.ok(await store.getLogin(before.id), 'the restored file is read');
    assert.equal(await store.getLogin(after.id), null);
  } finally {
    await store.close();
    file.cleanup();
  }
});

test('sqlite countLogins is a range of sessions_by_expiry, not a read of every row, when most have expired', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, fileCheckIntervalMs: 0 });
  await store.ping();
  const db = new Database(file.path);
  try {
    const now = clock.now();
    const insert = db.prepare(
      `INSERT INTO sessions (id, user_id, username, role, created_at, last_active_at, expires_at,
         absolute_expires_at, data) VALUES (?, ?, 'name', 'user', 0, 0, ?, ?, '{}')`,
    );
    // 20,000 logins, one in fifty live, one in ten anonymous: what a file looks like before a prune.
    db.transaction(() => {
      for (let n = 1; n <= 20_000; n++) {
        const live = n % 50 === 1;
        insert.run(
          `id-${n}`,
          n % 10 === 0 ? null : `user-${n % 200}`,
          live ? now + 3_600_000 : now - 1000,
          now + 7_200_000,
        );
      }
    })();
    db.exec('ANALYZE');
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${COUNT_LIVE_LOGINS}`).all(now) as { detail: string }[];
    assert.match(
      plan.map((step) => step.detail).join('\n'),
      /USING INDEX sessions_by_expiry \(expires_at>\?\)/,
    );
    assert.equal(await store.countLogins(now), 400);
  } finally {
    db.close();
    await store.close();
    file.cleanup();
  }
});
