import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { KeycardError } from '../../src/core/errors.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { LATEST_VERSION } from '../../src/stores/sqlite/migrations.js';
import { describeStoreConformance, sessionFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';

function tempFile(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-sqlite-'));
  return { path: join(dir, 'keycard.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreConformance('sqlite', async (clock) => {
  const file = tempFile();
  const store = new SQLiteStore({ path: file.path, clock, revocationPollIntervalMs: 20 });
  const raw = new Database(file.path);
  return {
    store,
    openAnother: async () => new SQLiteStore({ path: file.path, clock }),
    async reset() {
      raw.exec(
        'DELETE FROM sessions; DELETE FROM users; DELETE FROM refresh_tokens; DELETE FROM counters; DELETE FROM revocations; DELETE FROM clients;',
      );
    },
    async close() {
      raw.close();
      await store.close();
      file.cleanup();
    },
  };
});

test('sqlite store applies migrations once and records the schema version', async () => {
  const file = tempFile();
  try {
    const first = new SQLiteStore({ path: file.path });
    await first.close();
    const second = new SQLiteStore({ path: file.path });
    await second.close();
    const raw = new Database(file.path);
    const rows = raw.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    assert.deepEqual(
      rows.map((row) => row.version),
      Array.from({ length: LATEST_VERSION }, (_, i) => i + 1),
    );
    assert.equal((raw.pragma('journal_mode', { simple: true }) as string).toLowerCase(), 'wal');
    raw.close();
  } finally {
    file.cleanup();
  }
});

test('sqlite store refuses a database written by a newer keycard', async () => {
  const file = tempFile();
  try {
    await new SQLiteStore({ path: file.path }).close();
    const raw = new Database(file.path);
    raw
      .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
      .run(LATEST_VERSION + 1, 0);
    raw.close();
    assert.throws(
      () => new SQLiteStore({ path: file.path }),
      (error) => error instanceof KeycardError && /newer than this keycard/.test(error.message),
    );
  } finally {
    file.cleanup();
  }
});

test('sqlite store with migrate: false refuses an unmigrated database', () => {
  const file = tempFile();
  try {
    assert.throws(
      () => new SQLiteStore({ path: file.path, migrate: false }),
      (error) => error instanceof KeycardError && /keycard migrate/.test(error.message),
    );
  } finally {
    file.cleanup();
  }
});

test('sqlite store prunes sessions past idle or absolute expiry', async () => {
  const file = tempFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, pruneIntervalMs: 0 });
  try {
    const idle = sessionFixture(clock, { expiresAt: clock.now() + 1000 });
    const absolute = sessionFixture(clock, { absoluteExpiresAt: clock.now() + 1000 });
    const live = sessionFixture(clock);
    for (const record of [idle, absolute, live]) await store.createSession(record);
    clock.advance(1000);
    assert.equal(store.prune(), 2);
    assert.ok(await store.getSession(live.id));
    assert.equal(await store.getSession(idle.id), null);
  } finally {
    await store.close();
    file.cleanup();
  }
});

test('sqlite store reports store_unavailable while another connection holds the write lock, then recovers', async () => {
  const file = tempFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, busyTimeoutMs: 20 });
  const record = sessionFixture(clock);
  await store.createSession(record);
  const locker = new Database(file.path);
  try {
    locker.exec('BEGIN IMMEDIATE');
    await assert.rejects(
      store.touchSession(record.id, clock.now() + 1, record.expiresAt + 1),
      (error) => error instanceof KeycardError && error.code === 'store_unavailable',
    );
    locker.exec('COMMIT');
    await store.touchSession(record.id, clock.now() + 1, record.expiresAt + 1);
    assert.equal((await store.getSession(record.id))?.expiresAt, record.expiresAt + 1);
  } finally {
    locker.close();
    await store.close();
    file.cleanup();
  }
});

test('sqlite store reports store_unavailable when its file is moved away, and recovers when it is back', async () => {
  const file = tempFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, fileCheckIntervalMs: 0 });
  const record = sessionFixture(clock);
  await store.createSession(record);
  const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';
  try {
    renameSync(file.path, `${file.path}.moved`);
    await assert.rejects(store.ping(), unavailable);
    await assert.rejects(store.getSession(record.id), unavailable, 'a read after the check fails too');
    renameSync(`${file.path}.moved`, file.path);
    await store.ping();
    assert.equal((await store.getSession(record.id))?.id, record.id);
  } finally {
    await store.close();
    file.cleanup();
  }
});

test('sqlite store reopens a file replaced at its path (restored from a backup)', async () => {
  const file = tempFile();
  const clock = new ManualClock();
  const store = new SQLiteStore({ path: file.path, clock, fileCheckIntervalMs: 0 });
  const before = sessionFixture(clock);
  await store.createSession(before);
  const backup = `${file.path}.backup`;
  await new Database(file.path).backup(backup);
  const after = sessionFixture(clock);
  await store.createSession(after);
  try {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file.path + suffix, { force: true });
    renameSync(backup, file.path);
    await store.ping();
    assert.ok(await store.getSession(before.id), 'the restored file is read');
    assert.equal(await store.getSession(after.id), null);
  } finally {
    await store.close();
    file.cleanup();
  }
});

test('two connections to one file (server and CLI) see each other’s writes and keep usernames unique', async () => {
  const file = tempFile();
  const clock = new ManualClock();
  const a = new SQLiteStore({ path: file.path, clock });
  const b = new SQLiteStore({ path: file.path, clock });
  try {
    const record = sessionFixture(clock);
    await a.createSession(record);
    assert.equal((await b.getSession(record.id))?.id, record.id);
    await b.deleteSession(record.id);
    assert.equal(await a.getSession(record.id), null);
    assert.equal(
      await a.patchSessionData(record.id, { set: { x: 1 }, unset: [] }, { maxBytes: 100 }),
      'missing',
    );
  } finally {
    await a.close();
    await b.close();
    file.cleanup();
  }
});
